"""Issue 13, items 2, 3 and 11 through the real Application and the Bot API stand-in: the
procedure's département carries over, a request never ends on nobody, the privacy notice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from escalation import referents
from escalation.models import Escalation
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from vvs.db import transaction

pytestmark = pytest.mark.asyncio
PHYS, REF_75 = 5301, 7301


async def _remembering(api, dept: str) -> Chat:
    """A physician who asked the bot to remember `dept`."""
    doc = Chat(api, PHYS, first_name="Jeanne")
    await doc.command("/menu")
    await doc.press_data(f"s:dept:{dept}")
    return doc


async def _victim_route_to_75(doc: Chat) -> list:
    await doc.command("/victime")
    await doc.press("Oui")
    await doc.press("Agression")
    await doc.press("Libéral")
    return await doc.press("75 Paris")


@pytest.mark.parametrize("remembered", [None, "93"])
async def test_the_procedures_departement_is_the_requests(tmp_path: Path,
                                                          remembered: str | None) -> None:
    """Item 2: '75' answered in the victim route is the request's, whether or not 93 was
    remembered before; the département is not asked again."""
    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path)
    async with running_bot(settings) as (api, services):
        async with transaction(services.sessions) as s:
            await referents.add_referent(services.escalations, s, department="75",
                                         telegram_id=REF_75, name="Dr Soixante-Quinze")
        doc = await _remembering(api, remembered) if remembered \
            else Chat(api, PHYS, first_name="Jeanne")
        outcome = await _victim_route_to_75(doc)
        assert "Être contacté par un référent" in " ".join(buttons(outcome))
        sent = await doc.press("Être contacté par un référent")
        assert "Dans quel département" not in texts(sent)
        assert "partager votre numéro" in texts(sent)
        await doc.say("Ne pas partager")
        summary = texts(await doc.press("Passer"))
        assert "votre département : 75" in summary
        assert "Demande n°1 envoyée" in texts(await doc.press("Envoyer"))
        async with services.sessions() as s:
            (esc,) = (await s.exec(select(Escalation))).scalars().all()
        assert esc.department == "75"
        await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                           chat_id=REF_75, since=0)


async def test_a_remembered_departement_is_a_default_to_confirm(tmp_path: Path) -> None:
    """Item 2: outside a procedure, the remembered département is offered, not imposed."""
    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path)
    async with running_bot(settings) as (api, _services):
        doc = await _remembering(api, "93")
        sent = await doc.press_data("e:new:victime")
        assert "Dans quel département" in texts(sent) and "retenu : 93" in texts(sent)
        assert "📍 93 (retenu)" in buttons(sent) and "94" in buttons(sent)
        assert "partager votre numéro" in texts(await doc.press("94"))
        await doc.say("Ne pas partager")
        assert "votre département : 94" in texts(await doc.press("Passer"))


@pytest.mark.parametrize(("dept", "category", "expected"), [
    ("92", "autre", "ordre-medecins"),  # the 92 council's own channel for that use
    ("75", "victime", "0800 288 038"),  # no channel for 75: the Ordre's listening line
    ("75", "mineur", "rue Borromée"),  # not a victim: the regional council
])
async def test_nobody_reachable_gives_a_contact_that_works(tmp_path: Path, dept: str,
                                                           category: str,
                                                           expected: str) -> None:
    """Item 3: no referent, no regional chat, no admin: a concrete contact, and nothing
    left « en attente » in /mademande."""
    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path, admin_ids="")
    async with running_bot(settings) as (api, services):
        doc = Chat(api, PHYS)
        await doc.command("/menu")
        await doc.press_data(f"e:new:{category}:{dept}")
        await doc.say("Ne pas partager")
        await doc.press("Passer")
        sent = texts(await doc.press("Envoyer"))
        assert "Aucun référent n'est joignable" in sent
        if expected == "ordre-medecins":
            directory = services.content["annuaire"]
            cdom = directory.get("cdom-92")
            assert any(c.value in sent for c in cdom.channels if "ordre-medecins" in c.uses)
        else:
            assert expected in sent
        assert "Vous n'avez aucune demande en cours" in texts(await doc.command("/mademande"))
        async with services.sessions() as s:
            assert (await s.exec(select(Escalation))).scalars().all() == []


async def test_the_demo_enrols_a_referent_in_each_departement(tmp_path: Path) -> None:
    """Item 3: in the demo, a request reaches a (demo) referent."""
    from bot.demo import DEMO_REFERENT_BASE, enrol_demo_referents

    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path, admin_ids="")
    async with running_bot(settings) as (api, services):
        await enrol_demo_referents(services)
        await enrol_demo_referents(services)  # a restart in the same folder: still one each
        doc = Chat(api, PHYS)
        await doc.command("/menu")
        await doc.press_data("e:new:victime:94")
        await doc.say("Ne pas partager")
        await doc.press("Passer")
        assert "Demande n°1 envoyée" in texts(await doc.press("Envoyer"))
        await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                           chat_id=DEMO_REFERENT_BASE + 94, since=0)
        assert "en attente d'un référent" in texts(await doc.command("/mademande"))
        async with services.sessions() as s:
            assert len(await referents.list_referents(s)) == 8


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_privacy_notice_names_controller_retention_rights_and_cnil(
        tmp_path: Path, language: str) -> None:
    """Item 11: controller, purposes, every retention period, rights and the CNIL."""
    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path,
                             data_controller="CROM Île-de-France, 9 rue Borromée",
                             state_expiry_hours=24, processed_update_retention_hours=48,
                             escalation_retention_days=30, event_retention_months=13,
                             console_audit_retention_days=400, console_session_hours=9)
    async with running_bot(settings) as (api, _services):
        notice = texts(await Chat(api, PHYS, language=language).command("/confidentialite"))
    assert "CROM Île-de-France, 9 rue Borromée" in notice and "à préciser" not in notice
    assert "cnil.fr" in notice and "CNIL" in notice
    for period in ("24 h", "48 h", "30 ", "13 ", "400 ", "9 h"):
        assert period in notice, period
    # the operators' console keeps names in its audit (CONSOLE_AUDIT_RETENTION_DAYS)
    console = {"fr": "conservée 400 jours, même après /effacer",
               "en": "kept for 400 days, even after /effacer"}[language]
    assert console in notice
    words = {"fr": ("Responsable du traitement", "Accès", "Effacement", "Opposition",
                    "réclamation", "Pourquoi", "attente d'envoi"),
             "en": ("Data controller", "Access", "Erasure", "Objection", "complaint", "Why",
                    "waiting to be sent")}[language]
    for word in words:
        assert word in notice, word


async def test_erasure_says_in_words_what_it_erased(tmp_path: Path) -> None:
    """Item 11: /effacer names what it erased and what there was nothing of; no bare count."""
    settings = make_settings(f"sqlite:///{tmp_path / 'vvs.db'}", tmp_path)
    async with running_bot(settings) as (api, _services):
        doc = await _remembering(api, "93")
        await doc.command("/effacer")
        said = texts(await doc.press("Oui, tout effacer"))
    erased, _sep, nothing = said.partition("rien à effacer pour")
    assert "J'ai effacé" in erased and "votre conversation en cours" in erased
    assert "demandes de contact" in nothing and "messages en attente" in nothing
    assert not any(line.rstrip().endswith((": 0", ": 1")) for line in said.splitlines())
