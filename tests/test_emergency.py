"""Emergency first: every phrasing of immediate danger shows the numbers; questions rarely do."""

from __future__ import annotations

import time

import pytest

from vvs.emergency import (
    all_numbers_text,
    detect_emergency,
    emergency_reply,
    emergency_text,
    normalise,
)
from vvs.i18n import use_language

# Immediate danger, as a physician or a victim would type it: first and third person,
# typos, missing accents, SMS spellings, capitals, physician victim in the practice.
POSITIVES = [
    # the brief's own examples
    "il me menace",
    "il a un couteau",
    "je suis en danger",
    "il frappe l'enfant",
    "il est devant ma porte",
    "il va me tuer",
    "elle a peur qu'il la tue ce soir",
    "le père secoue le bébé",
    "menaces de mort",
    "il m'attend sur le parking avec une barre de fer",
    "un patient agressif refuse de partir et crie dans la salle d'attente",
    "ya un mec ki me menass",
    "jsuis en dangé",
    "il a 1 couto",
    # threats
    "Il me menace depuis ce matin",
    "IL ME MENACE",
    "il me menace de mort",
    "il m'a menacée de mort hier et il revient ce soir",
    "le mari de ma patiente me menace",
    "le conjoint la menace avec un couteau",
    "elle est menacée par son ex",
    "je suis menacé par un patient",
    "ma patiente reçoit des menaces de mort de son conjoint",
    "il menace de la tuer",
    "il menace de me tuer si je parle",
    "il menace de tuer les enfants",
    "un patient menaçant est dans mon cabinet",
    "il nous menace au secrétariat",
    "il me menaçe",
    "il me menasse",
    "il me menasss",
    "il me menacé",
    "on me menace au cabinet",
    "le père de l'enfant menace de l'enlever ce soir",
    # killing
    "il va la tuer",
    "il veut me tuer",
    "il va me buter",
    "il a dit qu'il allait me crever",
    "je vais te tuer, il a écrit ça à ma patiente",
    "il a essayé de l'étrangler",
    "il a tenté de m'étrangler",
    "il va me tuer c sur",
    "elle dit qu'il va la tuer",
    "il veut la tuer",
    "il menace de la buter",
    "il va me faire la peau",
    "il va me tuée",
    "il va me tué",
    "IL VA ME TUER",
    "il va me tuerrr",
    # weapons
    "il a une arme",
    "il a un pistolet",
    "il a sorti un couteau",
    "il brandit un couteau dans la salle d'attente",
    "il a un fusil chez lui et il a bu",
    "un homme armé dans le cabinet",
    "il est armé",
    "il a une hache",
    "il a un cuteau",
    "il a un couteaux",
    "ya un type avec un flingue",
    "il tient un cutter",
    "il m'attend avec une batte",
    "il a pris un couteau de cuisine",
    "il a 1 flingue",
    "un patient sort un couteau",
    "coups de feu dans la rue devant le cabinet",
    # danger
    "je suis en danger",
    "Je suis en danger !",
    "JE SUIS EN DANGER",
    "je suis en dnager",
    "je suis en dangerr",
    "jsui en danger",
    "chui en danger",
    "ma patiente est en danger",
    "l'enfant est en danger ce soir",
    "elle est en grand danger",
    "je me sens en danger",
    "les enfants sont en danger",
    "je crois qu'elle est en danger de mort",
    "elle a peur pour sa vie",
    "j'ai peur pour ma vie",
    "elle craint pour sa vie",
    "elle a peur qu'il revienne",
    "j'ai peur qu'il me tue",
    "ma patiente est terrorisée",
    # violence now
    "il la frappe",
    "il me frappe",
    "il me frape",
    "il me frappe encore",
    "il frappe sa femme",
    "il frappe les enfants",
    "le père frappe son fils",
    "il tape le petit",
    "il cogne sa copine",
    "il la bat",
    "ils la battent",
    "le père secoue le bb",
    "elle secoue son bébé",
    "il est en train de la frapper",
    "il l'étrangle",
    "il la viole",
    "il a giflé l'enfant devant moi",
    "il me donne des coups",
    "il la roue de coups",
    "elle se fait frapper par son mari en ce moment",
    "il brûle l'enfant avec une cigarette",
    "le beau-père maltraite la petite",
    "un patient m'a agressé et il est encore là",
    "un patient m'agresse",
    "on m'agresse au cabinet",
    "la patiente se fait tabasser",
    # presence, stalking, forcing in
    "il est devant la porte du cabinet",
    "il est derrière la porte",
    "il est là",
    "il est la dehors",
    "il est en bas de chez moi",
    "il est revenu au cabinet",
    "il m'attend dehors",
    "il m'attend à la sortie",
    "il me suit depuis le cabinet",
    "il rôde devant le cabinet",
    "il essaie d'entrer",
    "il défonce la porte",
    "il tape sur la porte et hurle",
    "il frappe à la porte et crie",
    "il veut forcer la porte",
    "le mari de la patiente refuse de partir",
    "un homme refuse de quitter la salle d'attente",
    "un patient casse tout dans la salle d'attente",
    "un patient ivre hurle à l'accueil et insulte la secrétaire",
    "un patient très agressif à l'accueil maintenant",
    "un patient pète les plombs dans la salle d'attente",
    # help, confinement, suicide
    "au secours",
    "AU SECOURS",
    "au secour",
    "aidez moi",
    "aidez-moi svp",
    "à l'aide",
    "sos",
    "appelez la police",
    "il m'empêche de sortir",
    "elle est séquestrée chez elle",
    "il l'a enfermée dans la chambre",
    "je suis enfermée dans la salle de bain, il est dehors",
    "je me suis cachée dans les toilettes",
    "elle veut se suicider",
    "il veut en finir",
    "ma patiente veut mettre fin à ses jours ce soir",
    # SMS and typos
    "il ma menacer",
    "il me menass de mort",
    "il va me tu",
    "jss en danger",
    "ya 1 mec avc un couto",
    "il é devan ma porte",
    "il é dvt ma porte",
    "il frap mon gosse",
    "il tap ma fille",
    "il ma frappé",
    "ils m'agressent",
    "il me menaceee",
    "il m attend ds le parking",
    "chui enfermé",
    # held out: written after the rules above, before the last round of tuning
    "mon patient vient de me dire que son frère va venir le tuer",
    "il est entrain de tout casser",
    "elle m'appelle, son mari est en train de la frapper",
    "help il est la",
    "le compagnon de ma patiente la séquestre",
    "il a une lame",
    "il menaçait de se tuer avec son fusil",
    "il m'a mis un couteau sous la gorge",
    "vite il arrive",
    "le patient s'est jeté sur moi",
    "un homme crie et tape dans la porte du cabinet",
    "il veut me taper",
    "ma secrétaire est agressée a l accueil",
    "j'ai peur il est violent il est la",
    "son ex la harcèle et l'attend devant chez elle tous les soirs",
    "le père a secoué le nourrisson il y a une heure",
    "une patiente dit qu'il va la tuer si elle part",
    "il etrangle sa femme",
    "il me poignarde",
    "il l'a frappée avec une ceinture ce matin et il rentre ce soir",
    "elle a des bleus et dit qu'il recommencera ce soir",
    "un patient m'a craché dessus et me menace",
    "ma patiente a des idées suicidaires et veut passer à l'acte",
    "l'enfant dit que son beau-père le frappe tous les jours",
    "il y a un individu armé dans la salle d'attente",
]

# Ordinary domain questions (legal, procedural, clinical, about the service): must stay quiet.
BENIGN = [
    "qu'est-ce que le secret médical",
    "comment rédiger un certificat",
    "que faire si une patiente refuse le signalement",
    "le danger immédiat, c'est quoi au sens du 226-14 ?",
    "qu'est-ce que l'article 226-14 du code pénal",
    "puis-je signaler sans l'accord de la victime majeure ?",
    "comment faire un signalement au procureur",
    "à qui adresser une information préoccupante",
    "comment contacter la CRIP du 93",
    "quelle est la différence entre signalement et information préoccupante",
    "comment rédiger un certificat de coups et blessures",
    "faut-il fixer une ITT dans le certificat",
    "comment évaluer l'ITT",
    "qui est le référent violences de mon département",
    "liste des associations d'aide aux victimes dans le 94",
    "où trouver une unité médico-judiciaire en Seine-Saint-Denis",
    "l'UMJ de Bobigny est-elle ouverte le week-end",
    "comment orienter une patiente victime de violences conjugales",
    "quels sont les signes d'emprise",
    "comment repérer les violences faites aux femmes en consultation",
    "questionnaire de dépistage systématique des violences",
    "ma patiente ne veut pas porter plainte, que faire",
    "la plainte est-elle obligatoire pour obtenir une ordonnance de protection",
    "qu'est-ce qu'une ordonnance de protection",
    "dois-je informer la patiente de mon signalement",
    "suis-je protégé si je signale de bonne foi",
    "risque-t-on une sanction disciplinaire après un signalement",
    "le conseil de l'ordre peut-il me poursuivre",
    "comment déclarer un incident de sécurité à l'ordre",
    "qu'est-ce que l'observatoire de la sécurité des médecins",
    "comment sécuriser mon cabinet",
    "faut-il installer un bouton d'alerte au cabinet",
    "convention santé sécurité justice, c'est quoi",
    "comment déposer une main courante",
    "comment porter plainte après une agression au cabinet la semaine dernière",
    "l'ordre peut-il se constituer partie civile",
    "le secret professionnel s'applique-t-il aux internes",
    "peut-on transmettre le dossier médical à la police",
    "réquisition judiciaire : que dois-je fournir",
    "que répondre à un officier de police judiciaire qui demande un certificat",
    "comment rédiger un certificat pour une femme battue",
    "certificat après un viol, quelles mentions",
    "un enfant de 7 ans présente des ecchymoses, que faire",
    "comment parler des violences à un adolescent",
    "le 119 c'est pour les enfants en danger ?",
    "quel numéro pour les violences conjugales",
    "le 3919 est-il gratuit",
    "le 114 fonctionne-t-il par SMS",
    "comment contacter la cellule VVS",
    "quels sont les horaires de l'assistance VVS",
    "bonjour",
    "merci beaucoup",
    "comment supprimer mes données",
    "changer la langue",
    "je voudrais parler à un référent",
    "comment fonctionne ce service",
    "quelle formation sur les violences intrafamiliales",
    "existe-t-il un guide de la HAS sur les violences conjugales",
    "fiche réflexe repérage des violences",
    "la mise en danger de la vie d'autrui, c'est quel article",
    "qu'est-ce qu'un mineur en danger au sens de la loi",
    "qu'est-ce que le syndrome du bébé secoué",
    "comment reconnaître un bébé secoué en consultation",
    "la notion de péril imminent en psychiatrie",
    "soins sans consentement en cas de péril imminent, quelle procédure",
    "comment gérer un patient agressif de manière générale",
    "formation à la gestion de l'agressivité au cabinet",
    "le coût d'une vidéosurveillance au cabinet",
    "est-ce coûteux d'installer une alarme",
    "le secret médical vis-à-vis de la famille",
    "un confrère m'a transmis un dossier, puis-je le garder",
    "faut-il un certificat pour une demande de logement d'urgence",
    "quels documents remettre à une patiente qui quitte le domicile",
    "l'hébergement d'urgence pour les femmes victimes dans le 75",
    "le 115 accueille-t-il les femmes avec enfants",
    "y a-t-il une permanence juridique gratuite à Créteil",
    "qu'est-ce que le téléphone grave danger",
    "comment obtenir un téléphone grave danger pour une patiente",
    "le bracelet anti-rapprochement, comment ça marche",
    "les violences psychologiques sont-elles un délit",
    "le harcèlement moral au sein du couple, quelle qualification",
    "la contrainte pénale en matière de violences",
    "quelle est la peine pour des menaces de mort selon le code pénal",
    "la maltraitance des personnes âgées en EHPAD, à qui signaler",
    "une patiente de 85 ans semble négligée par sa fille, que faire",
    "certificat de décès : que faire en cas d'obstacle médico-légal",
    "comment remplir la case obstacle médico-légal",
    "la vaccination obligatoire des enfants",
    "comment prescrire une contraception d'urgence",
    "le patient a une plaie de la main après un accident de bricolage",
    "j'ai vu une patiente le 12/03 pour des douleurs abdominales",
    "ITT de 8 jours au sens pénal",
    "R.4127-44 du code de la santé publique",
    "peut-on refuser de soigner un patient agressif",
    "puis-je mettre fin à la prise en charge d'un patient",
    "un patient m'a insulté au téléphone la semaine dernière, dois-je porter plainte",
    "quelle assurance couvre les agressions au cabinet",
    "comment porter plainte pour violences verbales",
    "les urgences de l'hôpital le plus proche",
    "numéro du SAMU social",
    "les armes à feu doivent-elles être signalées à la préfecture, quelle loi",
    # held out (the last one fires: a past blow described with "il a frappé"; accepted)
    "une patiente m'a dit avoir été frappée il y a deux ans, puis-je faire un signalement ?",
    "comment reconnaître l'emprise chez une victime",
    "qu'est-ce que la menace au sens pénal",
    "les agressions de médecins ont augmenté en 2023 selon l'observatoire",
    "faut-il prévenir la famille d'un patient suicidaire",
    "comment réagir face à un patient agressif, quelles formations existent",
    "quel est le délai de prescription pour des violences",
    "la patiente a subi des violences sexuelles dans l'enfance",
    "quelles sont les conséquences des violences sur la santé des enfants",
    "l'enfant vit dans un climat de violence conjugale, que faire",
    "mon patient a été victime d'un accident de voiture",
    "est-ce que je peux refuser un patient qui m'a insulté",
    "la patiente a peur de porter plainte",
    "dois-je garder une copie du certificat",
    "le fils de ma patiente âgée gère ses comptes, je suspecte un abus de faiblesse",
    "le mari accompagne toujours sa femme en consultation et répond à sa place",
    "comment documenter des lésions au dossier médical",
    "photographier les blessures est-il autorisé",
    "quelle différence entre violence et conflit dans le couple",
    "un adolescent me confie des violences de son père, il a 16 ans",
    "le docteur de garde ce soir est qui ?",
    "combien de temps garder le dossier",
    "je dois faire une attestation pour la CAF",
    "est-il légal d'enregistrer une consultation",
    "les chiffres des féminicides en 2022",
    "ma patiente a été violée il y a un an, elle veut en parler",
    "il a frappé sa compagne l'an dernier, elle veut un certificat rétroactif",
    "le patient a des antécédents de violences, dois-je le noter",
    "protocole de prise en charge des victimes aux urgences",
    "l'arme du crime était un couteau, dois-je témoigner ?",
]


def test_tables_are_large_enough() -> None:
    assert len(POSITIVES) >= 120
    assert len(BENIGN) >= 80


@pytest.mark.parametrize("text", POSITIVES)
def test_immediate_danger_is_detected(text: str) -> None:
    assert detect_emergency(text) is not None, text


def test_benign_false_positive_rate_at_most_5_percent() -> None:
    fired = [t for t in BENIGN if detect_emergency(t) is not None]
    rate = len(fired) / len(BENIGN)
    assert rate <= 0.05, f"{rate:.1%} false positives: {fired}"


@pytest.mark.parametrize("text", [
    "qu'est-ce que le secret médical",
    "comment rédiger un certificat",
    "que faire si une patiente refuse le signalement",
    "le danger immédiat, c'est quoi au sens du 226-14 ?",
])
def test_the_brief_s_ordinary_questions_stay_quiet(text: str) -> None:
    assert detect_emergency(text) is None


def test_a_question_about_danger_with_a_live_situation_still_fires() -> None:
    # Framing only silences a lone danger word, never a described situation.
    assert detect_emergency("c'est quoi le danger immédiat ? il est devant ma porte") is not None
    assert detect_emergency("au sens du 226-14, il a un couteau, je signale ?") is not None


def test_empty_text() -> None:
    assert detect_emergency("") is None
    assert detect_emergency("   ") is None


def test_match_names_the_rule() -> None:
    match = detect_emergency("il a un couteau")
    assert match is not None and match.pattern == "weapon_held"


def test_normalise() -> None:
    assert normalise("Il M’ÉTRANGLE!!!") == "il m etrangle #"
    assert normalise("au secouuuurs") == "au secours"
    assert normalise("  à   l'aide ") == "a l aide"


def test_fast_enough() -> None:
    texts = POSITIVES + BENIGN
    start = time.perf_counter()
    for _round in range(5):
        for text in texts:
            detect_emergency(text + " x")  # defeat nothing: the per-token cache is the point
    per_message = (time.perf_counter() - start) / (5 * len(texts))
    assert per_message < 0.005


def test_long_text_stays_fast() -> None:
    text = "le patient est venu pour une douleur et nous avons parlé longuement. " * 300
    start = time.perf_counter()
    assert detect_emergency(text) is None
    assert time.perf_counter() - start < 0.5


def test_texts() -> None:
    with use_language("fr"):
        assert "17" in emergency_text() and "112" in emergency_text()
        assert "114" in emergency_text()
        assert "119" in all_numbers_text() and "3919" in all_numbers_text()
        assert emergency_reply().text == emergency_text()
