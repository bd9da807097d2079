"""PDF drafts and decision record, read back with poppler's pdftotext (not with fpdf2)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from bot.flows import documents
from bot.flows.model import Outcome
from bot.flows.resolvers import AddresseeLine, Contact
from tests.flowkit import engine, walk
from vvs.events import DocumentGenerated

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")
TODAY = dt.date(2025, 11, 24)


def pdf_text(content: bytes) -> str:
    """Text of a PDF, as a reader would copy it."""
    assert content.startswith(b"%PDF")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content,
                          capture_output=True, check=True)
    return " ".join(done.stdout.decode("utf-8").split())


@pytest.fixture(scope="module")
def eng():
    return engine()


def test_signalement_draft_for_couple_violence(eng) -> None:
    done = walk(eng, "majeur", ["Oui, danger", "peut se protéger", "Non, ou", "Oui, au sein",
                                "Les deux", "93"])
    _state, reply = eng.handle(done.state, "f:doc:signalement", today=TODAY)
    (doc,) = reply.documents
    assert doc.filename == "modele-signalement.pdf"
    assert reply.events == (DocumentGenerated("majeur", "signalement-couple", "signalement",
                                              "93"),)
    text = pdf_text(doc.content)
    assert "MODÈLE INDICATIF" in text
    assert "n'est pas le modèle officiel" in text
    assert "« Secret médical et violences au sein du couple »" in text
    # The fixture's Bobigny number serves signalements of minors and adults, not the couple
    # mailbox: the draft names the parquet and says that its channel is still to be found.
    assert "Tribunal judiciaire de Bobigny" in text and "01 23 45 67 89" not in text
    assert "Aucun moyen de transmission confirmé pour cet usage" in text
    assert "Article 226-14, 3°, du code pénal" in text
    assert "« [à compléter] »" in text
    assert text.count("[à compléter]") >= 6
    assert "Ne nommez pas l'auteur présumé" in text


def test_signalement_draft_for_a_minor_lists_uncertain_parquets(eng) -> None:
    done = walk(eng, "mineur", ["Non", "Oui, des faits", "77"])
    text = pdf_text(eng.handle(done.state, "f:doc:signalement")[1].documents[0].content)
    for name in ("Meaux", "Melun", "Fontainebleau"):
        assert f"Tribunal judiciaire de {name}" in text
    assert "— à confirmer" in text and "Aucun moyen de transmission confirmé" in text
    assert "Copie à la CRIP" in text
    assert "victime mineure, accord non nécessaire" in text


def test_ip_draft(eng) -> None:
    done = walk(eng, "ip", ["Non", "Non : danger", "93"])
    _state, reply = eng.handle(done.state, "f:doc:ip")
    (doc,) = reply.documents
    text = pdf_text(doc.content)
    assert doc.filename == "modele-information-preoccupante.pdf"
    assert "président du conseil départemental (CRIP)" in text
    assert "Cellule de recueil des informations préoccupantes de la Seine-Saint-Denis" in text
    assert "Information préalable des parents (L.226-2-1 CASF)" in text
    assert "Articles L.226-2-1 et L.226-3 du code de l'action sociale et des familles" in text
    assert "L'information préoccupante" in text  # names the CNOM kit


def test_decision_record(eng) -> None:
    done = walk(eng, "majeur", ["Non", "ne le peut pas", "93"])
    _state, reply = eng.handle(done.state, "f:rec", today=TODAY)
    (doc,) = reply.documents
    assert doc.filename == "releve-decision-2025-11-24.pdf"
    text = pdf_text(doc.content)
    assert "Établi le 24/11/2025" in text
    assert "La vie de la personne est-elle menacée maintenant" in text
    assert "→ Non" in text
    assert "La personne est-elle en mesure de se protéger ?" in text
    assert "→ Elle ne le peut pas (âge, état physique ou psychique)" in text
    assert "→ 93 Seine-Saint-Denis" in text
    assert "Alerter sans son accord" in text
    assert "Tribunal judiciaire de Bobigny" in text
    assert "Article 226-14, 1° et 2°, du code pénal" in text
    assert "(majeur-vulnerable)" in text and "Fiche majeur-vulnerable" in text
    assert "Aucune donnée identifiant le patient" in text


def test_record_without_any_addressee(eng) -> None:
    done = walk(eng, "victime", ["Oui", "Violences sexistes", "x"])
    assert "f:rec" not in [b.data for row in done.reply.buttons for b in row]
    done = walk(eng, "majeur", ["Non", "peut se protéger", "Non, ou", "Non", "x"])
    text = pdf_text(eng.handle(done.state, "f:rec")[1].documents[0].content)
    assert "Hors Île-de-France" in text
    assert "3919" in text and "référent" in text  # the record keeps what works


def test_minor_draft_shows_only_the_channel_fit_for_it_with_its_status(eng) -> None:
    done = walk(eng, "mineur", ["Non", "Oui, des faits", "93"])
    text = pdf_text(eng.handle(done.state, "f:doc:signalement")[1].documents[0].content)
    assert "téléphone 01 23 45 67 89 — signalement d'un mineur au procureur" in text
    assert "vérifié le 15/01/2025" in text  # the fixture's Bobigny fiche is verified
    assert "contact@example.org" not in text  # information only: never a place to send
    assert "119" not in text  # a draft names where to send, not the fallback lines


def test_special_characters_print() -> None:
    outcome = Outcome(id="t", title="Œuvre d’un cœur", now="Elle dit : « il m’a frappée ».",
                      addressee="aucun", basis=("itt",), mention="Sœur — 226-14 2°",
                      write="« entre guillemets »", avoid="pas d’auteur")
    ctx = documents.DocumentContext(
        flow_title="Essai", outcome=outcome,
        addressees=(AddresseeLine("Procureur", "parquet", (Contact("Parquet d’Évry"),), False,
                                  "signalement-majeur", sending=True),),
        basis=(("itt", "ITT : l’incapacité"),), answers=(("Question ?", "Réponse œ"),),
        department="91", today=TODAY)
    for kind in documents.DOCUMENT_KINDS:
        text = pdf_text(documents.build(kind, ctx).content)
        if kind != "alerte-administrative":  # whose addressee is left blank by design
            assert "Parquet d’Évry — à confirmer" in text
        assert "Sœur — 226-14 2°" in text
    record = pdf_text(documents.build("record", ctx).content)
    assert "Œuvre d’un cœur" in record and "« il m’a frappée »" in record
    assert "→ Réponse œ" in record and "ITT : l’incapacité" in record


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        documents.build("fax", None)  # type: ignore[arg-type]


def test_pdf_stays_french_for_an_english_interface(eng) -> None:
    from vvs.i18n import use_language

    done = walk(eng, "majeur", ["Oui, danger", "peut se protéger", "Non, ou", "Oui, au sein",
                                "Les deux", "93"])
    with use_language("en"):
        _state, reply = eng.handle(done.state, "f:doc:signalement", today=TODAY)
    (doc,) = reply.documents
    text = pdf_text(doc.content)
    assert "MODÈLE INDICATIF" in text and "Article 226-14, 3°, du code pénal" in text
    assert doc.caption.startswith("Indicative")  # only the chat caption follows the user


def test_vulnerable_adult_gets_an_administrative_authority_draft(eng) -> None:
    """226-14 1° names administrative authorities; the review (A11) names the ARS and the
    département's adult-protection service. The addressee is the physician's to fill."""
    done = walk(eng, "majeur", ["Non", "ne le peut pas", "93"])
    data = [b.data for row in done.reply.buttons for b in row]
    assert "f:doc:alerte-administrative" in data and "f:doc:ip" not in data
    _state, reply = eng.handle(done.state, "f:doc:alerte-administrative")
    (doc,) = reply.documents
    assert doc.filename == "modele-alerte-autorite-administrative.pdf"
    assert "hors de l'assistant" in doc.caption
    text = pdf_text(doc.content)
    assert "Destinataire [à compléter] — selon la situation : l'Agence régionale de santé" in text
    assert "service départemental de protection des adultes" in text
    assert "Article 226-14, 1° et 2°, du code pénal" in text
    assert "CRIP, réservée aux mineurs" in text and "information préoccupante" not in text


def test_ip_caption_says_the_document_is_sent_outside_the_assistant(eng) -> None:
    done = walk(eng, "ip", ["Non", "Non : danger", "93"])
    _state, reply = eng.handle(done.state, "f:doc:ip")
    assert "à compléter hors de l'assistant" in reply.documents[0].caption and reply.text == ""
