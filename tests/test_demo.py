"""The terminal demo, with a tiny echo application and scripted input/output."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.demo import AppFactory, run_demo


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet in HTML with two buttons and a link."""
    name = update.effective_user.first_name
    lang = update.effective_user.language_code
    await update.message.reply_html(
        f"Bonjour <b>{name}</b> ({lang})\nQue voulez-vous faire ?",
        reply_markup=InlineKeyboardMarkup([
            [InlineKeyboardButton("Annuaire", callback_data="m:annuaire")],
            [InlineKeyboardButton("Urgence", callback_data="m:urgence")],
            [InlineKeyboardButton("Site", url="https://example.org")]]))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press with a notification and edit the message."""
    await update.callback_query.answer("Choix enregistré")
    await update.callback_query.edit_message_text(f"Vous avez choisi {update.callback_query.data}")


async def on_doc(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a small PDF."""
    await update.message.reply_document(b"%PDF-1.4 demo", filename="fiche.pdf")


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a shared location with a venue."""
    loc = update.message.location
    await update.message.reply_venue(loc.latitude, loc.longitude, "UMJ", "1 rue de Paris")


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a shared phone number."""
    await update.message.reply_text(f"Numéro reçu : {update.message.contact.phone_number}")


async def on_notify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Write to another chat (a referent) and to the user."""
    await context.bot.send_message(999, "Nouvelle demande pour le référent")
    await update.message.reply_text("Demande envoyée")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo."""
    await update.message.reply_text(f"Écho : {update.message.text}")


async def post_init(application: Application) -> None:
    """Mark that post_init ran, as under run_polling."""
    application.bot_data["post_init"] = True


def echo_factory(base_url: str) -> Application:
    """The application factory the demo calls, like the production one."""
    app = (Application.builder().token("42:ANY-TOKEN").base_url(base_url)
           .post_init(post_init).build())
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("doc", on_doc))
    app.add_handler(CommandHandler("notify", on_notify))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.LOCATION, on_location))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    built.append(app)
    return app


built: list[Application] = []


async def scripted(*lines: str) -> AsyncIterator[str]:
    """The lines a user would type."""
    for line in lines:
        yield line + "\n"


async def run(tmp_path: Path, *lines: str, factory: AppFactory = echo_factory) -> str:
    out = io.StringIO()
    await run_demo(factory, lines=scripted(*lines), output=out, save_dir=tmp_path / "demo",
                   settle=0.05)
    return out.getvalue()


async def test_transcript_of_a_short_conversation(tmp_path: Path) -> None:
    transcript = await run(tmp_path, "/start", "2", "bonjour", "loc 48,85 2.35", "/doc", "quit",
                           "never read")
    assert "vous> /start\nbot> Bonjour Dr Démo (fr)\n     Que voulez-vous faire ?\n" \
           "     [1] Annuaire\n     [2] Urgence\n     [lien] Site → https://example.org\n" \
           in transcript
    assert "vous> 2\n  [notification : Choix enregistré]\n" \
           "bot (modifié)> Vous avez choisi m:urgence\n" in transcript
    assert "vous> bonjour\nbot> Écho : bonjour\n" in transcript
    assert "bot> [lieu : UMJ — 1 rue de Paris (48.85, 2.35)]" in transcript
    assert "fiche.pdf, 13 octets, saved to " in transcript
    assert (tmp_path / "demo" / "fiche.pdf").read_bytes() == b"%PDF-1.4 demo"
    assert "never read" not in transcript
    assert built[-1].bot_data["post_init"] is True


async def test_bad_input_and_end_of_input(tmp_path: Path) -> None:
    transcript = await run(tmp_path, "", "7", "loc nowhere")
    assert "(pas de bouton n°7)" in transcript
    assert "(usage : loc, ou loc 48.85 2.35)" in transcript
    assert transcript.endswith("vous> \n")  # Ctrl-D: a clean line, no traceback


async def test_async_factory_is_awaited(tmp_path: Path) -> None:
    async def factory(base_url: str) -> Application:
        return echo_factory(base_url)

    transcript = await run(tmp_path, "salut", factory=factory)
    assert "bot> Écho : salut" in transcript



async def test_postcode_phone_position_other_chats_and_one_file_per_document(
        tmp_path: Path) -> None:
    transcript = await run(tmp_path, "/start", "93000", "tel", "tel 06 12 34 56 78", "loc",
                           "/notify", "/doc", "/doc")
    assert "bot> Écho : 93000" in transcript  # a postcode is text, not button n°93000
    assert "Numéro reçu : +33600000000" in transcript
    assert "Numéro reçu : 0612345678" in transcript
    assert "(48.8566, 2.3522)" in transcript  # « loc » alone shares a position
    assert "Demande envoyée" in transcript and "pour le référent" not in transcript
    assert (tmp_path / "demo" / "fiche.pdf").exists()
    assert (tmp_path / "demo" / "fiche-2.pdf").exists()


async def test_the_real_demo_answers_again_after_a_restart_in_the_same_folder(
        tmp_path: Path) -> None:
    """`python -m bot` without a token, twice in the same data folder: the second session is
    answered too (its stand-in used to number updates from the same id, and the bot dropped
    them as already processed)."""
    import asyncio
    import os
    import socket
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""})
    busy = socket.socket()  # the console's port taken: the demo must still answer
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    env["HTTP_PORT"] = str(busy.getsockname()[1])
    for _session in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(b"/urgence\nquit\n"), 90)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert "112" in out.decode(), out.decode()[-2000:]
    busy.close()


async def test_a_two_digit_number_beyond_the_buttons_is_text(tmp_path: Path) -> None:
    """« 93 » where two buttons are shown is a département typed, not button n°93."""
    transcript = await run(tmp_path, "/start", "93", "12")
    assert "Écho : 93" in transcript and "Écho : 12" in transcript
    assert "pas de bouton" not in transcript
