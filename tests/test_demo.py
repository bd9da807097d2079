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
    assert "(usage : loc 48.85 2.35)" in transcript
    assert transcript.endswith("vous> \n")  # Ctrl-D: a clean line, no traceback


async def test_async_factory_is_awaited(tmp_path: Path) -> None:
    async def factory(base_url: str) -> Application:
        return echo_factory(base_url)

    transcript = await run(tmp_path, "salut", factory=factory)
    assert "bot> Écho : salut" in transcript

