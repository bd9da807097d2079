"""The console's door: who gets a link, and every way in that must be refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.console import access
from bot.console.access import Keys
from bot.server import build_web_app
from escalation.referents import add_referent
from tests.botharness import Chat, make_settings, running_bot
from tests.consolekit import content_copy, link_in
from vvs.clock import FakeClock
from vvs.db import transaction

ADMIN, REFERENT_93, DOCTOR = 900, 930, 4242
HOW_TO = "envoyez <code>/console</code>"


@asynccontextmanager
async def console(db: Any, tmp_path: Path, clock: FakeClock, aiohttp_client: Any,
                  **settings: object) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The bot (for /console) and a test client of the same process's web app."""
    values: dict[str, object] = {"content_dir": content_copy(tmp_path), **settings}
    async with running_bot(make_settings(db.url, tmp_path, **values), clock=clock) as (
            api, services):
        async with transaction(services.sessions) as session:
            await add_referent(services.escalations, session, department="93",
                               telegram_id=REFERENT_93, name="Dr Référente 93")
        client = await aiohttp_client(build_web_app(services, None))
        yield api, services, client


async def _link(api: Any, user: int) -> str:
    sent = await Chat(api, user).command("/console")
    token = link_in(sent)[1]
    call = next(c for c in reversed(api.calls_to("sendMessage", user))
                if token in str(c.params.get("text")))
    assert call.params["link_preview_options"] == {"is_disabled": True}
    return token


async def _login(client: Any, token: str) -> Any:
    page = await client.get("/console/login", params={"t": token})
    assert page.status == 200
    form_token = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
    return await client.post("/console/login", data={"t": token, "csrf": form_token},
                             allow_redirects=False)


async def test_a_physician_or_a_group_gets_no_link(db, tmp_path, clock, aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, _services, _client):
        sent = await Chat(api, DOCTOR).command("/console")
        assert "réservée aux administrateurs" in sent[0].plain and "login" not in sent[0].text
        api.send_command(ADMIN, "/console", chat_id=-100123)
        answer = await api.wait_for(lambda c: c.method == "sendMessage", chat_id=-100123)
        assert "conversation privée" in answer.params["text"]


async def test_link_is_used_once_and_opens_a_strict_session(db, tmp_path, clock,
                                                            aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, _services, client):
        token = await _link(api, ADMIN)
        # the GET (a preview, a prefetch) shows the button and consumes nothing
        assert (await client.get("/console/login", params={"t": token})).status == 200
        opened = await _login(client, token)
        assert opened.status == 303
        cookie = opened.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        home = await client.get("/console/")
        assert home.status == 200 and "administrateur" in await home.text()
        assert home.headers["Referrer-Policy"] == "no-referrer"
        client.session.cookie_jar.clear()
        again = await client.get("/console/login", params={"t": token})
        assert again.status == 403 and HOW_TO in await again.text()
        reused = await client.post("/console/login", data={"t": token, "csrf": "x"})
        assert reused.status == 403 and HOW_TO in await reused.text()


async def test_expired_and_forged_links_and_cookies_are_refused(db, tmp_path, clock,
                                                               aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, _services, client):
        token = await _link(api, ADMIN)
        clock.advance(minutes=10, seconds=1)
        assert (await client.get("/console/login", params={"t": token})).status == 403
        body, _, _signature = token.rpartition(".")
        forged = f"{body}.{'0' * 32}"
        assert (await client.get("/console/login", params={"t": forged})).status == 403
        client.session.cookie_jar.update_cookies({"vvs_console": "forged-session"})
        page = await client.get("/console/contenu")
        assert page.status == 403 and HOW_TO in await page.text()
        assert (await client.get("/console/")).status == 403


async def test_a_post_without_the_csrf_token_changes_nothing(db, tmp_path, clock,
                                                             aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        await _login(client, await _link(api, ADMIN))
        entry = services.registry.root / "knowledge" / "entries" / "crip.md"
        before = entry.read_text(encoding="utf-8")
        page = await client.get("/console/fiches/crip")
        digest = (await page.text()).split('name="digest" value="')[1].split('"')[0]
        for form in ({"digest": digest}, {"digest": digest, "csrf": "wrong"}):
            refused = await client.post("/console/fiches/crip/valider", data=form)
            assert refused.status == 403 and "Jeton de formulaire" in await refused.text()
        assert entry.read_text(encoding="utf-8") == before


async def test_a_referent_keeps_only_their_own_departement(db, tmp_path, clock,
                                                            aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        await _login(client, await _link(api, REFERENT_93))
        home = await client.get("/console/")
        csrf = (await home.text()).split('name="csrf" value="')[1].split('"')[0]
        assert (await client.get("/console/annuaire/93")).status == 200
        assert (await client.get("/console/annuaire/75")).status == 403
        data75 = services.registry.root / "annuaire" / "data" / "75.yaml"
        before = data75.read_text(encoding="utf-8")
        refused = await client.post("/console/annuaire/75/cdom-75/confirmer",
                                    data={"csrf": csrf})
        assert refused.status == 403 and data75.read_text(encoding="utf-8") == before
        assert (await client.get("/console/contenu")).status == 403
        assert (await client.get("/console/fichier",
                                 params={"path": "annuaire/data/75.yaml"})).status == 403
        assert (await client.get("/console/fichier",
                                 params={"path": "annuaire/data/93.yaml"})).status == 200


async def test_a_removed_validator_loses_the_session(db, tmp_path, clock,
                                                     aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        async with transaction(services.sessions) as session:
            await access.enrol(session, clock.now(), telegram_id=501, role="validator",
                               name="Dr Commission")
        await _login(client, await _link(api, 501))
        assert "Dr Commission" in await (await client.get("/console/contenu")).text()
        async with transaction(services.sessions) as session:
            await access.remove_member(session, 501)
        assert (await client.get("/console/contenu")).status == 403


def test_console_url_must_be_https_outside_loopback(tmp_path: Path) -> None:
    def problem(**values: object) -> str | None:
        return make_settings("sqlite:///x.db", tmp_path, **values).console_problem()

    assert problem() is None  # http://127.0.0.1:8080/console
    assert problem(console_url="http://localhost:9000/console") is None
    assert problem(console_url="https://vvs.example.org/console") is None
    assert "https" in (problem(console_url="http://vvs.example.org/console") or "")
    webhook = make_settings("sqlite:///x.db", tmp_path, bot_mode="webhook",
                            webhook_url="https://bot.example.org/hook/telegram/webhook",
                            webhook_secret="s" * 20)
    assert webhook.resolved_console_url() == "https://bot.example.org/console"


def test_tokens_are_signed() -> None:
    keys, other = Keys.derive(b"k" * 32), Keys.derive(b"j" * 32)
    token = keys.new_token()
    assert keys.signed(token) and not other.signed(token) and not keys.signed("abc")


async def test_an_http_console_url_outside_loopback_starts_no_console(db, tmp_path, clock,
                                                                     aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client,
                       console_url="http://vvs.example.org/console") as (api, _s, client):
        sent = await Chat(api, ADMIN).command("/console")
        assert "pas disponible" in sent[0].plain and "login" not in sent[0].text
        assert (await client.get("/console/login", params={"t": "x"})).status == 404
        assert (await client.get("/healthz")).status == 200
        assert (await client.post("/telegram/webhook", data=b"{}")).status in (404, 405)


async def test_statistics_for_admins_only_with_the_report_and_its_csv(
        db, tmp_path, clock, aiohttp_client) -> None:
    """The annual report for a chosen period, its CSV tables; a referent is refused, and a
    malformed period gets a clear answer."""
    from vvs.events import record_event

    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        async with transaction(services.sessions) as session:
            for user in ("a", "b"):
                await record_event(session, clock, "start", user_key=user, department="93")
        await _login(client, await _link(api, REFERENT_93))
        assert (await client.get("/console/statistiques")).status == 403
        client.session.cookie_jar.clear()
        await _login(client, await _link(api, ADMIN))
        day = clock.now().date().isoformat()
        page = await client.get("/console/statistiques", params={"du": day, "au": day})
        text = await page.text()
        assert page.status == 200 and "/console/statistiques/rapport?" in text
        table = text.split('/console/statistiques/')[2].split('.csv')[0]  # the first table
        csv = await client.get(f"/console/statistiques/{table}.csv",
                               params={"du": day, "au": day})
        assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
        assert (await csv.text()).startswith("code,")
        report = await client.get("/console/statistiques/rapport",
                                  params={"du": day, "au": day})
        assert report.status == 200 and "<svg" in await report.text()
        bad = await client.get("/console/statistiques", params={"du": "hier"})
        assert bad.status == 400 and "AAAA-MM-JJ" in await bad.text()
        unknown = await client.get("/console/statistiques/inconnu.csv")
        assert unknown.status == 404
