"""Patient-identity detector: what must warn, what ordinary clinical/legal text must not."""

from __future__ import annotations

import pytest

from vvs.i18n import use_language
from vvs.identity import KIND_LABELS, detect_identity, identity_warning, is_nir, nir_key


def _kinds(text: str, **kwargs: str) -> set[str]:
    return {f.kind for f in detect_identity(text, **kwargs)}


def _with_key(nir13: str) -> str:
    return f"{nir13}{nir_key(nir13):02d}"


# --- NIR -----------------------------------------------------------------------------------


def test_nir_key_formula() -> None:
    assert nir_key("1850578006084") == 97 - 1850578006084 % 97 == 91
    assert nir_key("2690299341732") == 85
    # Corsica: 2A counts as 19 and 2B as 18 in the key computation.
    assert nir_key("185052A123456") == 97 - 1850519123456 % 97
    assert nir_key("185052B123456") == 97 - 1850518123456 % 97


@pytest.mark.parametrize("nir", [
    "1 85 05 78 006 084 91",
    "185057800608491",
    "1.85.05.78.006.084.91",
    "1-85-05-78-006-084-91",
    "2 69 02 99 341 732 85",
    "1 85 05 2A 123 456 33",
    "1 85 05 2a 123 456 33",
    _with_key("185052B123456"),
    "1 85 05 78 006 084",  # without its key
    "2850599123456",
])
def test_nir_is_found(nir: str) -> None:
    assert "nir" in _kinds(f"sa carte vitale : {nir}, merci")
    assert is_nir(nir)


@pytest.mark.parametrize("number", [
    "1 85 05 78 006 084 92",  # wrong key
    "185057800608400",
    "1 85 13 78 006 084",  # month 13 does not exist
    "5 85 05 78 006 084 91",  # first digit
    "12345678901",  # an RPPS number has 11 digits
    "123 456 789 00012",  # SIRET
])
def test_not_a_nir(number: str) -> None:
    assert "nir" not in _kinds(f"numéro {number}")


def test_nir_digits_are_not_read_as_a_phone_number() -> None:
    assert _kinds("NIR 2 69 02 99 341 732 85") == {"nir"}


# --- tables --------------------------------------------------------------------------------

POSITIVES: list[tuple[str, str]] = [
    ("Mme Dupont a été vue hier", "name"),
    ("j'ai reçu M. Martin en urgence", "name"),
    ("Monsieur Durand refuse les soins", "name"),
    ("Madame Nguyen est revenue", "name"),
    ("Mlle Petit-Jean", "name"),
    ("le petit Kevin Martin a des bleus", "name"),
    ("la petite Léa a 4 ans", "name"),
    ("patiente MARTIN Sophie, 34 ans", "name"),
    ("Patiente Sophie MARTIN vue ce matin", "name"),
    ("le patient Jean Dupont", "name"),
    ("son mari Karim est violent", "name"),
    ("l'enfant Lucas B. est suivi", "name"),
    ("elle s'appelle Amina", "name"),
    ("DUPONT Marie, vue le 3 mars", "name"),
    ("la victime, nommée Claire Morel", "name"),
    ("Mme DUPONT", "name"),
    ("Dr Lefèvre, son médecin traitant", "name"),
    ("née le 12/03/1985", "birthdate"),
    ("née le 12 mars 1985", "birthdate"),
    ("né le 3/4/85", "birthdate"),
    ("DDN 01.02.2019", "birthdate"),
    ("DDN : 01/02/2019", "birthdate"),
    ("date de naissance : 5 juin 2001", "birthdate"),
    ("Mme Dupont 12/03/1985", "birthdate"),
    ("Lucas Martin (14/07/2015)", "birthdate"),
    ("née le 1er janvier", "birthdate"),
    ("écrire à jean.dupont@gmail.com", "email"),
    ("son mail : k.martin+test@orange.fr", "email"),
    ("MARIE.DURAND@laposte.net", "email"),
    ("appelez-la au 06 12 34 56 78", "phone"),
    ("06.12.34.56.78", "phone"),
    ("+33 6 12 34 56 78", "phone"),
    ("+33612345678", "phone"),
    ("0612345678", "phone"),
    ("0033 6 12 34 56 78", "phone"),
    ("tel fixe 01-45-67-89-10", "phone"),
    ("+33 (0)6 12 34 56 78", "phone"),
    ("elle habite 12 rue de la Paix", "address"),
    ("12 rue Victor Hugo, 93200 Saint-Denis", "address"),
    ("au 3 bis avenue Jean Jaurès", "address"),
    ("5, boulevard Voltaire", "address"),
    ("14 bd de Strasbourg", "address"),
    ("2 impasse des Lilas", "address"),
    ("8 allée des Tilleuls", "address"),
    ("habite 7 place de la République", "address"),
    ("12 rue des écoles", "address"),
    ("45 av. Foch", "address"),
]

# Held out: written after the detector, checked only for "some warning".
HELD_OUT_POSITIVES = [
    'Patiente Fatima BENALI, DDN 02/05/1990',
    'je vous transmets le dossier de Mme Leroy',
    'son fils Thomas, 6 ans',
    "la mère, Mme Garcia, m'a appelé",
    'elle vit au 23 rue Gambetta à Montreuil',
    'joignable au 07 81 22 33 44',
    'Mr Benoit',
    'contact: s.leroy@free.fr',
    'né le 04.11.2010',
    "l'enfant s'appelle Noah",
    'sécu 2 91 12 75 120 005',
    'M. Diallo, né le 5 mai 1979',
    'le conjoint, Julien Moreau (12/01/1980)',
]

NEGATIVES = [
    "art. 226-14 du code pénal",
    "article 226-14",
    "R.4127-44 du code de la santé publique",
    "R4127-44",
    "L.226-2-1 du CASF",
    "ITT de 8 jours",
    "ITT 8 j au sens pénal",
    "le 12/03 j'ai vu une patiente",
    "le 12/03/2024 j'ai vu une patiente",
    "certificat établi le 12 mars 2024",
    "enfant de 7 ans",
    "une patiente de 35 ans",
    "3919",
    "appeler le 119",
    "le 17 ou le 112",
    "le Dr de garde",
    "le Docteur de garde a vu la patiente",
    "la CRIP 93",
    "département 93",
    "93200",
    "une patiente du 94 (Créteil)",
    "Mme X, 40 ans",
    "M. X a été reçu",
    "Madame la juge",
    "Monsieur le Procureur de la République",
    "l'UMJ Bobigny est ouverte",
    "l'UMJ de l'Hôtel-Dieu",
    "le CHU Bicêtre",
    "une patiente ASE suivie en PMI",
    "patiente BPCO sous oxygène",
    "le patient Alzheimer de l'EHPAD",
    "enfant TSA",
    "RPPS 10101234567",
    "il y a 12 places de parking",
    "3 cours de formation",
    "2 chemins possibles",
    "ma patiente a peur de son mari",
    "le secret médical vis-à-vis de la famille",
    "Que faire ? La patiente refuse.",
    "Bonjour Docteur, une question sur le signalement",
    "une ordonnance de protection du JAF",
    "Le 3919 est gratuit.",
    "taux de 0,5 mg/l",
    "TA 12/8, FC 80",
    "poids 12.5 kg",
    "version 1.2.3",
    "du 1er au 15 mars",
    "patiente née en 1985",
    "Paris 15e",
    "la loi du 30 juillet 2020",
    "décret n° 2021-1234",
    "04/2023",
    "il y a 2 ans",
    "Je suis médecin à Montreuil",
    "Elle dit que son conjoint la surveille",
    # held out (known miss kept out: "Patiente Enceinte" reads as a name)
    'Bonjour, je suis médecin généraliste dans le 93',
    'Une patiente de 28 ans, enceinte de 5 mois',
    "Que dit l'article L.4124-6 ?",
    'elle a été vue le 4/11',
    'La CRIP du Val-de-Marne',
    "Le Conseil départemental de l'Ordre",
    'ma patiente a 3 enfants de 2, 5 et 9 ans',
    'le 115 est saturé',
    'TA 14/9',
    'Hb 9,8 g/dl',
    '2 rue',
    'Saint-Denis',
    'Seine-Saint-Denis 93',
    'la Maison des femmes de Saint-Denis',
    'Au secours',
    'Le SAMU est arrivé',
    "J'ai appelé le 15 à 22h30",
    'le décret 2020-1234 du 12 octobre 2020',
    'Madame, Monsieur,',
    'Cher Confrère',
    'ITT 10 jours, certificat du 12.03.2024',
    'rdv à 14h30 le 15/04',
    'elle est suivie au CMP de Montreuil',
    'Mon patient SDF',
]


@pytest.mark.parametrize(("text", "kind"), POSITIVES)
def test_identity_is_found(text: str, kind: str) -> None:
    assert kind in _kinds(text), text


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_is_clean(text: str) -> None:
    assert detect_identity(text) == [], (text, _kinds(text))


@pytest.mark.parametrize("text", HELD_OUT_POSITIVES)
def test_held_out_identity_warns(text: str) -> None:
    assert detect_identity(text), text


def test_table_sizes() -> None:
    assert len(POSITIVES) >= 40 and len(NEGATIVES) >= 40


# --- own phone -----------------------------------------------------------------------------


@pytest.mark.parametrize("own", ["06 12 34 56 78", "+33612345678", "0612345678"])
def test_own_phone_shared_on_purpose_is_not_a_warning(own: str) -> None:
    text = "vous pouvez me rappeler au 06.12.34.56.78"
    assert "phone" in _kinds(text)
    assert "phone" not in _kinds(text, allow_own_phone=own)


def test_a_third_number_next_to_the_own_one_still_warns() -> None:
    text = "mon numéro 06 12 34 56 78, celui de la patiente 07 98 76 54 32"
    assert "phone" in _kinds(text, allow_own_phone="0612345678")


# --- combined and warning ------------------------------------------------------------------


def test_each_kind_once_in_order() -> None:
    text = ("Mme Dupont née le 12/03/1985, 12 rue de la Paix, 06 12 34 56 78, "
            "dupont@example.org, NIR 2 85 03 75 056 023 " + f"{nir_key('2850375056023'):02d}")
    kinds = [f.kind for f in detect_identity(text)]
    assert kinds == ["nir", "birthdate", "name", "email", "phone", "address"]


def test_warning_names_what_was_found() -> None:
    with use_language("fr"):
        findings = detect_identity("Mme Dupont, 06 12 34 56 78")
        warning = identity_warning(findings)
    assert "un nom de personne" in warning and "un numéro de téléphone" in warning
    assert "Dupont" not in warning and "06" not in warning
    assert set(KIND_LABELS) == {"nir", "birthdate", "name", "email", "phone", "address"}


def test_empty() -> None:
    assert detect_identity("") == []
