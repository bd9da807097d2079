"""The local Bot API stand-in, driven by a real python-telegram-bot Application and Bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.fakeapi import SECRET_HEADER, FakeBotAPI, html_to_text
from tests.botharness import served

TOKEN = "123456:TEST-TOKEN"
USER = 4242
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="m:yes"),
                                  InlineKeyboardButton("Non", callback_data="m:no")]])


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with a keyboard."""
    await update.message.reply_html("Bonjour <b>docteur</b> &amp; bienvenue",
                                    reply_markup=KEYBOARD)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge the press and edit the message."""
    query = update.callback_query
    await query.answer("ok")
    await query.edit_message_text(f"Choisi : {query.data}")


async def on_doc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Upload a small PDF."""
    await update.message.reply_document(b"%PDF-1.4 fake", filename="fiche.pdf",
                                        caption="Votre fiche")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the text."""
    context.bot_data.setdefault("seen", []).append(update.update_id)
    await update.message.reply_text(update.message.text)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Collect errors for the assertions."""
    context.bot_data.setdefault("errors", []).append(context.error)


def echo_app(api: FakeBotAPI, builder: ApplicationBuilder | None = None) -> Application:
    """A tiny real Application pointed at the stand-in."""
    builder = builder or Application.builder()
    app = builder.token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url).build()
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("doc", on_doc))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_error_handler(on_error)
    return app


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    """Run the application in polling mode; stop it cleanly."""
    async with app:
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def wait_until(condition: object, timeout: float = 5.0) -> None:
    """Wait for a condition that the stand-in does not observe (the app's own state)."""
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as bot:
        yield bot


async def test_start_is_answered_with_html_and_buttons(api: FakeBotAPI) -> None:
    async with polling(echo_app(api)):
        api.send_command(USER, "/start")
        call = await api.wait_for("sendMessage", chat_id=USER)
    message = call.message
    assert message is not None
    assert message.text == "Bonjour <b>docteur</b> &amp; bienvenue"
    assert message.plain == "Bonjour docteur & bienvenue"
    assert [(b.text, b.callback_data) for b in message.buttons] == [("Oui", "m:yes"),
                                                                     ("Non", "m:no")]
    assert call.params["parse_mode"] == "HTML"
    assert api.last_message(USER) is message
    assert api.calls_to("getMe")


async def test_button_press_edits_the_message(api: FakeBotAPI) -> None:
    async with polling(echo_app(api)):
        api.send_command(USER, "/start")
        await api.wait_for("sendMessage")
        api.press(USER, "Non")
        edit = await api.wait_for("editMessageText")
        answer = api.calls_to("answerCallbackQuery")[0]
    assert answer.params["text"] == "ok"
    message = api.last_message(USER)
    assert message is not None and edit.message is message
    assert message.plain == "Choisi : m:no"
    assert message.buttons == [] and message.edits == 1  # Telegram drops the keyboard


async def test_forged_button_data_reaches_the_handler(api: FakeBotAPI) -> None:
    async with polling(echo_app(api)):
        api.press_button(USER, 999, "x" * 64)
        edit = await api.wait_for("editMessageText", include_failed=True)
    assert edit.status == 400 and "message to edit not found" in (edit.description or "")


async def test_document_upload_is_recorded_with_its_bytes(api: FakeBotAPI) -> None:
    async with polling(echo_app(api)):
        api.send_command(USER, "/doc")
        call = await api.wait_for("sendDocument")
    assert call.message is not None and call.message.document is not None
    assert call.message.document.content == b"%PDF-1.4 fake"
    assert call.message.document.filename == "fiche.pdf"
    assert call.params["caption"] == "Votre fiche"


async def test_429_without_rate_limiter_raises_retry_after(api: FakeBotAPI) -> None:
    app = echo_app(api)
    api.fail_next("sendMessage", "429", retry_after=1)
    async with polling(app):
        api.send_text(USER, "bonjour")
        await api.wait_for("sendMessage", include_failed=True)
        await wait_until(lambda: app.bot_data.get("errors"))
    assert isinstance(app.bot_data["errors"][0], RetryAfter)
    assert api.attempts("sendMessage") == 1
    assert api.sent_messages(USER) == []


async def test_429_with_rate_limiter_is_retried_once(api: FakeBotAPI) -> None:
    app = echo_app(api, Application.builder().rate_limiter(AIORateLimiter(max_retries=1)))
    api.fail_next("sendMessage", "429", retry_after=1)
    async with polling(app):
        api.send_text(USER, "bonjour")
        call = await api.wait_for("sendMessage")
    assert call.message is not None and call.message.text == "bonjour"
    assert api.attempts("sendMessage", USER) == 2
    assert [c.status for c in api.calls_to("sendMessage")] == [429, 200]
    assert "errors" not in app.bot_data


@pytest.mark.parametrize("after_send", [False, True])
async def test_timeout_reaches_the_error_handler(api: FakeBotAPI, after_send: bool) -> None:
    app = echo_app(api, Application.builder().read_timeout(0.3))
    api.fail_next("sendMessage", "timeout", after_send=after_send)
    async with polling(app):
        api.send_text(USER, "bonjour")
        await wait_until(lambda: app.bot_data.get("errors"))
    assert isinstance(app.bot_data["errors"][0], TimedOut)
    assert api.attempts("sendMessage") == 1
    # after_send: the message exists although the bot never learnt it was sent
    assert len(api.sent_messages(USER)) == (1 if after_send else 0)


@pytest.mark.parametrize(("kind", "error"), [("403", Forbidden), ("400", BadRequest)])
async def test_failures_scoped_to_a_chat(bot: Bot, api: FakeBotAPI, kind: str,
                                         error: type[Exception]) -> None:
    api.fail_next("sendMessage", kind, chat_id=1)
    await bot.send_message(2, "other chat")
    with pytest.raises(error):
        await bot.send_message(1, "blocked")
    await bot.send_message(1, "again")
    assert [m.text for m in api.sent_messages()] == ["other chat", "again"]


async def test_blocked_user_gets_403(bot: Bot, api: FakeBotAPI) -> None:
    api.block(7)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(7, "hello")
    api.unblock(7)
    assert (await bot.send_message(7, "hello")).text == "hello"


async def test_redelivered_update_is_processed_twice_by_bare_ptb(api: FakeBotAPI) -> None:
    app = echo_app(api)
    async with polling(app):
        update_id = api.send_text(USER, "une fois")
        first = await api.wait_for("sendMessage")
        api.redeliver(update_id)
        await api.wait_for("sendMessage", since=first.index + 1)
    assert app.bot_data["seen"] == [update_id, update_id]


async def test_message_ids_increase_per_chat_and_groups_work(bot: Bot, api: FakeBotAPI) -> None:
    api.send_text(USER, "salut")
    api.send_text(USER, "/start", chat_id=-100, first_name="Alice")
    updates = await bot.get_updates(timeout=0)
    assert updates[1].effective_chat.type == "group"
    assert updates[1].message.entities[0].type == "bot_command"
    first = await bot.send_message(USER, "a")
    second = await bot.send_message(USER, "b")
    group = await bot.send_message(-100, "c")
    assert (first.message_id, second.message_id, group.message_id) == (2, 3, 2)
    assert first.from_user.id == api.bot_user["id"] and first.chat.id == USER


async def test_user_media_and_raw_updates(bot: Bot, api: FakeBotAPI) -> None:
    api.send_location(USER, 48.85, 2.35)
    api.send_contact(USER, "+33100000000", "Bob")
    api.send_sticker(USER)
    api.send_voice(USER)
    api.send_photo(USER, caption="radio")
    api.inject_raw({"my_chat_member": None, "update_id": 5})
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates[:5]]
    assert messages[0].location.latitude == pytest.approx(48.85)
    assert messages[1].contact.phone_number == "+33100000000"
    assert messages[2].sticker is not None and messages[3].voice is not None
    assert messages[4].caption == "radio"
    file = await bot.get_file(messages[4].photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()).endswith(b"-photo")
    assert updates[5].update_id == 5


async def test_html_and_markup_are_validated_like_telegram(bot: Bot, api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(1, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="end tag"):
        await bot.send_message(1, "<b>a", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("too long", callback_data="x" * 65)]]))
    sent = await bot.send_message(1, "same", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="essage is not modified"):
        await bot.edit_message_text("same", 1, sent.message_id, reply_markup=KEYBOARD)
    assert await bot.delete_message(1, sent.message_id)
    assert api.sent_messages(1)[0].deleted and api.last_message(1) is None


async def test_commands_venue_location_chat(bot: Bot, api: FakeBotAPI) -> None:
    await bot.set_my_commands([("start", "Démarrer"), ("aide", "Aide")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "aide"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    venue = await bot.send_venue(USER, 48.8, 2.3, "Commissariat", "1 rue X")
    assert venue.venue.title == "Commissariat"
    assert (await bot.send_location(USER, 48.8, 2.3)).location.longitude == pytest.approx(2.3)
    assert await bot.send_chat_action(USER, "typing")
    assert (await bot.get_chat(USER)).id == USER
    assert await bot.set_chat_menu_button()


async def test_get_updates_honours_its_timeout(api: FakeBotAPI) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        started = loop.time()
        async with session.post(f"{api.base_url}{TOKEN}/getUpdates",
                                json={"timeout": 0.2}) as response:
            assert (await response.json()) == {"ok": True, "result": []}
        assert 0.15 < loop.time() - started < 1.0
        async with session.post(f"{api.base_url}{TOKEN}/fooBar") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"


async def test_long_poll_wakes_up_on_injection(bot: Bot, api: FakeBotAPI) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    api.send_text(USER, "réveil")
    async with asyncio.timeout(2):
        updates = await poll
    assert updates[0].message.text == "réveil"


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=api.base_url):
            pass


async def test_webhook_delivery_carries_the_secret(bot: Bot, api: FakeBotAPI) -> None:
    received: list[tuple[str | None, dict]] = []
    arrived = asyncio.Event()

    async def endpoint(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    async with served(app) as base:
        await bot.set_webhook(f"{base}/hook", secret_token="s3cret")
        update_id = api.send_text(USER, "par webhook")
        async with asyncio.timeout(5):
            await arrived.wait()
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        info = await bot.get_webhook_info()
        await bot.delete_webhook()
    secret, body = received[0]
    assert secret == "s3cret" and body["update_id"] == update_id
    assert Update.de_json(body, bot).message.text == "par webhook"
    assert info.url.endswith("/hook") and info.pending_update_count == 0
    assert api.webhook_deliveries == [(update_id, 200)]


async def test_wait_for_times_out_with_a_useful_message(api: FakeBotAPI) -> None:
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for("sendMessage", timeout=0.05)


def test_html_to_text_keeps_links_on_demand() -> None:
    text = 'Voir <a href="https://x.fr">la fiche</a> &lt;ici&gt;'
    assert html_to_text(text) == "Voir la fiche <ici>"
    assert html_to_text(text, links=True) == "Voir la fiche <https://x.fr> <ici>"


async def test_manual_control_endpoints(api: FakeBotAPI, bot: Bot) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{api.port}/_fake/text"
        async with session.post(url, json={"user_id": 5, "text": "/start"}) as response:
            update_id = (await response.json())["result"]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].update_id == update_id
    await bot.send_message(5, "ok")
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{api.port}/_fake/messages") as response:
        assert json.loads(await response.text())["result"][0]["text"] == "ok"


@pytest.mark.parametrize("kind", ["500", "502"])
async def test_server_errors_are_network_errors(bot: Bot, api: FakeBotAPI, kind: str) -> None:
    api.fail_next("sendMessage", kind, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
    assert (await bot.send_message(1, "x")).text == "x"
    assert api.attempts("sendMessage") == 3 and len(api.sent_messages()) == 1


async def test_updater_survives_a_failing_get_updates(api: FakeBotAPI) -> None:
    api.fail_next("getUpdates", "502")
    async with polling(echo_app(api)):
        api.send_text(USER, "toujours là")
        call = await api.wait_for("sendMessage", timeout=10)
    assert call.params["text"] == "toujours là"
    assert api.attempts("getUpdates") >= 2


async def test_wait_for_starts_at_the_last_injection(bot: Bot, api: FakeBotAPI) -> None:
    await bot.send_message(1, "avant")
    api.send_text(1, "question")
    with pytest.raises(TimeoutError):
        await api.wait_for("sendMessage", timeout=0.05)
    await bot.send_message(1, "après")
    assert (await api.wait_for("sendMessage")).params["text"] == "après"
    assert (await api.wait_for("sendMessage", since=0)).params["text"] == "avant"
    api.clear()
    assert api.calls == [] and api.sent_messages() == [] and api.attempts("sendMessage") == 0
    assert (await bot.send_message(1, "encore")).message_id == 4  # the chat is still known
