"""The real Application through the local Bot API stand-in: foundation and platform."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annuaire.loader import AnnuaireSet
from bot.flows.loader import FlowSet
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from vvs.models import UserState

pytestmark = pytest.mark.asyncio
DOCTOR, OTHER = 501, 502


def sets() -> list:
    return [AnnuaireSet()]


async def test_start_greets_and_shows_menu(db, tmp_path: Path) -> None:
    # the flows put their own entries in the menu
    menu_sets = [AnnuaireSet(), FlowSet()]
    async with running_bot(make_settings(db.url, tmp_path), content_sets=menu_sets) as (api, _s):
        sent = await Chat(api, DOCTOR).command("/start")
    assert "pas une ligne d'urgence" in texts(sent)
    assert "identité d'un patient" in texts(sent)
    labels = buttons(sent)
    for expected in ("victime majeure", "victime mineure", "Information préoccupante",
                     "question juridique", "ressource", "victime", "urgence"):
        assert any(expected in label for label in labels), (expected, labels)


async def test_start_in_english_for_english_clients(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        sent = await Chat(api, DOCTOR, language="en").command("/start")
    assert "not an emergency line" in texts(sent)


async def test_duplicate_update_is_processed_once(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        update_id = api.send_command(DOCTOR, "/urgence")
        await api.wait_for("sendMessage", chat_id=DOCTOR)
        sent = await chat.exchange(lambda: api.redeliver(update_id))
    assert sent == []
    assert sum("112" in m.plain for m in api.sent_messages(DOCTOR)) == 1


async def test_two_users_interleaved_each_get_their_answer(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        for _ in range(3):
            api.send_command(DOCTOR, "/urgence")
            api.send_command(OTHER, "/confidentialite")
        await Chat(api, DOCTOR).command("/menu")
        await Chat(api, OTHER).command("/menu")
    mine = [m.plain for m in api.sent_messages(DOCTOR)]
    theirs = [m.plain for m in api.sent_messages(OTHER)]
    assert sum("112" in t for t in mine) == 3 and not any("Vos données" in t for t in mine)
    assert sum("Vos données" in t for t in theirs) == 3 and not any("SAMU" in t for t in theirs)


@pytest.mark.parametrize("inject, expected", [
    (lambda api: api.send_sticker(DOCTOR), "Je ne lis que le texte"),
    (lambda api: api.send_voice(DOCTOR), "Je ne lis que le texte"),
    (lambda api: api.send_photo(DOCTOR, caption="regardez"), "Je ne lis que le texte"),
    (lambda api: api.send_text(DOCTOR, "x" * 4000), "très long"),
    (lambda api: api.send_text(DOCTOR, "   "), "vide"),
    (lambda api: api.send_command(DOCTOR, "/nimportequoi"), "Je ne connais pas"),
])
async def test_odd_input_gets_a_helpful_answer(db, tmp_path: Path, inject, expected) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        if expected == "Je ne connais pas":
            api.send_command(DOCTOR, "/nimportequoi")
            call = await api.wait_for("sendMessage", chat_id=DOCTOR)
            assert expected in call.params["text"]
            return
        sent = await chat.exchange(lambda: inject(api))
    assert expected in texts(sent)


async def test_forged_button_is_refused_politely(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        for data in ("zz:boom", "m:flow:../../etc", "s:lang:xx", "a:pin:inexistant", "é" * 70):
            sent = await chat.press_data(data)
            assert "n'est plus valable" in texts(sent), data


async def test_emergency_phrase_comes_first(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        sent = await chat.say("il a un couteau il menace de la tuer")
    assert "17" in sent[0].plain and "112" in sent[0].plain and "114" in sent[0].plain


async def test_language_can_be_changed(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/langue")
        await chat.press("English")
        sent = await chat.command("/urgence")
    assert "Immediate danger" in texts(sent) or "immediate danger" in texts(sent)


async def test_erase_leaves_no_row_for_the_user(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        await chat.press_data("s:dept:93")
        await chat.command("/effacer")
        sent = await chat.press("Oui")
        key = s.user_key(DOCTOR)
        async with s.sessions() as session:
            count = (await session.exec(select(func.count()).select_from(UserState).where(
                UserState.user_key == key))).one()[0]
    assert "J'ai effacé" in texts(sent)
    assert count == 0


async def test_directory_by_text_and_location(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        sent = await chat.say("umj creteil")
        assert "Créteil" in texts(sent) or "CRETEIL" in texts(sent).upper()
        await chat.press("CRIP")
        sent = await chat.exchange(lambda: api.send_location(DOCTOR, 48.9362, 2.3574))
        assert "CRIP" in texts(sent).upper() and "93" in texts(sent)
        await chat.command("/annuaire")
        await chat.press("UMJ")
        sent = await chat.exchange(lambda: api.send_location(DOCTOR, 48.9362, 2.3574))
        pin = next(b for b in buttons(sent) if b.startswith("📍"))
        assert pin.endswith("(commune)")  # located at the town hall: the button says so
        sent = await chat.press(pin[2:12])
    (venue,) = api.calls_to("sendVenue", chat_id=DOCTOR)
    assert "position approximative" in str(venue)


async def test_directory_outside_the_region_says_so_with_national_lines_first(
        db, tmp_path: Path) -> None:
    """A town or a shared position outside Île-de-France: the directory says it only covers
    the region and lists the national lines before any far-away local service."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        for send in (lambda: chat.say("69003"),
                     lambda: chat.exchange(lambda: api.send_location(DOCTOR, 45.76, 4.84))):
            text = texts(await send())
            assert "hors d'Île-de-France" in text, text
            first_card = text.split("l'Île-de-France. Les lignes nationales d'abord :")[1]
            assert first_card.strip().startswith("1. 17"), first_card[:80]
            assert "Tribunal judiciaire" not in first_card.split("\n\n")[0]


async def test_reload_refuses_broken_edit_and_old_content_keeps_serving(
        db, tmp_path: Path) -> None:
    import shutil

    from sqlalchemy import select as sa_select

    from vvs.models import ContentPublication, ContentVersion

    root = Path(__file__).resolve().parent.parent
    content = tmp_path / "content"
    shutil.copytree(root / "annuaire" / "data", content / "annuaire" / "data")
    settings = make_settings(db.url, tmp_path, content_dir=content)
    async with running_bot(settings, content_sets=sets()) as (api, services):
        admin, chat = Chat(api, 900), Chat(api, DOCTOR)
        old_version = services.content.version
        sent = await chat.command("/recharger")
        assert "réservée aux administrateurs" in texts(sent)
        broken = content / "annuaire" / "data" / "93.yaml"
        broken.write_text(broken.read_text().replace("kind: crip", "kind: cripp", 1))
        sent = await admin.command("/recharger")
        assert "refusée" in texts(sent) and "93.yaml" in texts(sent) and "kind" in texts(sent)
        assert services.content.version == old_version
        await chat.command("/annuaire")
        sent = await chat.say("crip 93")
        assert "Seine-Saint-Denis" in texts(sent) or "93" in texts(sent)
        broken.write_text(broken.read_text().replace("kind: cripp", "kind: crip", 1)
                          + "\n")
        sent = await admin.command("/recharger")
        assert "rechargé" in texts(sent) and services.content.version != old_version
        async with services.sessions() as session:
            published = (await session.get(ContentVersion, 1)).version
            audit = (await session.exec(sa_select(ContentPublication.accepted))).scalars().all()
    assert published == services.content.version
    assert audit == [False, True]


async def test_other_replica_follows_published_content(db, tmp_path: Path) -> None:
    import shutil

    from bot.compose import compose
    from bot.content_service import follow_published, publish

    root = Path(__file__).resolve().parent.parent
    content = tmp_path / "content"
    shutil.copytree(root / "annuaire" / "data", content / "annuaire" / "data")
    settings = make_settings(db.url, tmp_path, content_dir=content)
    first = await compose(settings, content_sets=sets())
    second = await compose(settings, content_sets=sets())
    try:
        extra = content / "annuaire" / "data" / "75.yaml"
        extra.write_text(extra.read_text() + "\n# edited\n")
        assert not await follow_published(second)  # nothing published yet
        result = await publish(first, actor_key=None, origin="test")
        assert result.ok and first.content.version != second.content.version
        assert await follow_published(second)
        assert second.content.version == first.content.version
    finally:
        await first.engine.dispose()
        await second.engine.dispose()


async def test_reply_survives_a_short_429_and_a_5xx(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        api.fail_next("sendMessage", "429", retry_after=1, chat_id=DOCTOR)
        sent = await Chat(api, DOCTOR).command("/urgence")
        assert "112" in texts(sent)
        api.fail_next("sendMessage", "502", chat_id=DOCTOR)
        sent = await Chat(api, DOCTOR).command("/urgence")
        assert "112" in texts(sent)


async def test_unexpected_error_gets_a_plain_french_answer(db, tmp_path: Path) -> None:
    # Only the directory is loaded here, so a question (knowledge) fails inside the handler.
    async with running_bot(make_settings(db.url, tmp_path), content_sets=sets()) as (api, _s):
        api.send_text(DOCTOR, "qu'est-ce que le secret médical ?")
        call = await api.wait_for("sendMessage", chat_id=DOCTOR)
    assert "une erreur s'est produite" in call.params["text"] and "112" in call.params["text"]


async def test_expired_procedure_is_announced_at_next_message(db, tmp_path: Path) -> None:
    from vvs.clock import FakeClock

    clock = FakeClock()
    settings = make_settings(db.url, tmp_path)
    async with running_bot(settings, clock=clock, content_sets=sets()) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        clock.advance(hours=25)
        sent = await chat.command("/urgence")
    assert "plus d'un jour" in texts(sent) and "112" in texts(sent)


async def test_flooding_user_is_slowed_politely_others_are_served(db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, flood_burst=3, flood_rate_per_second=0.01)
    async with running_bot(settings, content_sets=sets()) as (api, _s):
        for _ in range(10):
            api.send_command(DOCTOR, "/urgence")
        await api.wait_for(lambda c: "beaucoup de messages" in str(c.params.get("text")),
                           chat_id=DOCTOR)
        sent = await Chat(api, OTHER).command("/urgence")
        assert "112" in texts(sent)
    answers = [m.plain for m in api.sent_messages(DOCTOR)]
    assert sum("112" in a for a in answers) == 3
    assert sum("beaucoup de messages" in a for a in answers) == 1


class SlowSet:
    """A content set whose reload waits until the test releases it."""

    name, subdir = "slow", "slow"

    def __init__(self) -> None:
        self.block = False
        self.entered, self.release = threading.Event(), threading.Event()
        self.done = False

    def load(self, root: Path, loaded) -> tuple[dict, list]:
        if self.block:
            self.entered.set()
            self.release.wait(10)
            self.done = True
        return {}, []


async def test_other_users_are_served_during_a_reload(db, tmp_path: Path) -> None:
    slow = SlowSet()
    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[AnnuaireSet(), slow]) as (api, _s):
        slow.block = True
        api.send_command(900, "/recharger")
        assert await asyncio.to_thread(slow.entered.wait, 10)
        sent = await Chat(api, DOCTOR).command("/urgence")
        assert "112" in texts(sent) and not slow.done  # answered while the reload runs
        slow.release.set()
        call = await api.wait_for(lambda c: "rechargé" in str(c.params.get("text")),
                                  chat_id=900)
    assert slow.done and "rechargé" in call.params["text"]
