"""Terminal chat with the real bot, through the embedded local Bot API stand-in.

The given factory builds the production Application with `base_url` pointing at the stand-in;
the demo runs it in polling mode exactly as production does, types as a demo physician and
prints what the bot sends. No Telegram account, no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from telegram.ext import Application

from bot.fakeapi import Call, FakeBotAPI, SentMessage, html_to_text, inline_buttons
from bot.lifecycle import started
from bot.services import Services
from escalation.referents import add_referent
from vvs.db import transaction
from vvs.departements import IDF_DEPARTMENTS

AppFactory = Callable[[str], Application | Awaitable[Application]]
DEMO_TOKEN = "123456:DEMO-TOKEN"
DEMO_USER_ID = 1001
QUIT = frozenset({"quit", "exit", "quitter", "q"})
DEMO_POSITION = (48.8566, 2.3522)  # Paris, Hôtel de Ville: what « loc » alone shares
DEMO_PHONE = "+33600000000"  # an obviously fictitious number: what « tel » alone shares
MAX_BUTTON_DIGITS = 2  # "93000" is a postcode, not button n°93000
BANNER = """\
Démo de l'assistant VVS — conversation locale, rien ne part vers Telegram.
Tapez un message ou une commande (/start), un numéro (1 à 99) pour appuyer sur un bouton,
« loc » (ou « loc 48.85 2.35 ») pour partager une position, « tel » (ou « tel 06… ») pour
partager votre numéro, « quit » (ou Ctrl-D) pour sortir.
Un référent de démonstration est inscrit dans chaque département : une demande « Être
contacté par un référent » lui parvient (il ne répond pas de lui-même).
"""


DEMO_REFERENT_BASE = 2000  # the demo referent of 93 is the Telegram user 2093


async def enrol_demo_referents(services: Services) -> None:
    """Enrol a demo referent in each département (again at each start: enrolment is
    idempotent), so the referent route can be tried: a request reaches someone."""
    async with transaction(services.sessions) as session:
        for dept in IDF_DEPARTMENTS:
            await add_referent(services.escalations, session, department=dept,
                               telegram_id=DEMO_REFERENT_BASE + int(dept),
                               name=f"Dr Démo (référent {dept})")


class Transcript:
    """Prints what the bot sends to the demo physician, as they would see it in Telegram;
    messages to other chats (a referent's notification) are not theirs to see."""

    def __init__(self, output: TextIO, save_dir: Path, user_id: int | None = None) -> None:
        self.output, self.save_dir, self.user_id = output, save_dir, user_id

    def write(self, text: str) -> None:
        """Write and flush (the output may be a terminal shared with the prompt)."""
        self.output.write(text)
        self.output.flush()

    def on_call(self, call: Call) -> None:
        """Show one recorded Bot API call, if the user would see something."""
        if self.user_id is not None and call.chat_id not in (None, self.user_id):
            return
        if not call.took_effect:
            self.write(f"  [erreur de l'API {call.method} : {call.description}]\n")
            return
        show = getattr(self, f"_show_{call.method}", None)
        if show is not None:
            show(call)

    def _bot(self, text: str, prefix: str = "bot> ") -> None:
        lines = text.strip("\n").split("\n") or [""]
        self.write(prefix + lines[0] + "\n" + "".join(f"     {x}\n" for x in lines[1:]))

    def _buttons(self, markup: dict[str, Any] | None) -> None:
        number = 0
        for button in inline_buttons(markup):
            if button.callback_data is not None:
                number += 1
                self.write(f"     [{number}] {button.text}\n")
            elif button.url:
                self.write(f"     [lien] {button.text} → {button.url}\n")
        keyboard = (markup or {}).get("keyboard")
        if keyboard:
            labels = [b.get("text", "") if isinstance(b, dict) else str(b)
                      for row in keyboard for b in row]
            self.write(f"     [clavier] {' | '.join(labels)}\n")

    def _message(self, message: SentMessage | None, prefix: str = "bot> ") -> None:
        if message is None:
            return
        text = message.text or ""
        plain = html_to_text(text, links=True) if message.parse_mode == "HTML" else text
        self._bot(plain, prefix)
        self._buttons(message.reply_markup)

    def _show_sendMessage(self, call: Call) -> None:
        self._message(call.message)

    def _show_editMessageText(self, call: Call) -> None:
        self._message(call.message, "bot (modifié)> ")

    def _show_editMessageReplyMarkup(self, call: Call) -> None:
        if call.message is not None and call.message.buttons:
            self.write("bot (boutons)>\n")
            self._buttons(call.message.reply_markup)

    def _show_answerCallbackQuery(self, call: Call) -> None:
        text = call.params.get("text")
        if text:
            kind = "alerte" if call.params.get("show_alert") else "notification"
            self.write(f"  [{kind} : {text}]\n")

    def _show_sendDocument(self, call: Call) -> None:
        message = call.message
        if message is None or message.document is None:
            return
        document = message.document
        self.save_dir.mkdir(parents=True, exist_ok=True)
        path = _free_path(self.save_dir / (Path(document.filename).name or "document"))
        path.write_bytes(document.content)
        shown = path.as_posix() if path.is_absolute() else f"./{path.as_posix()}"
        self._bot(f"[document: {path.name}, {len(document.content)} octets, saved to {shown}]")
        if message.text:
            self._message(message, "     ")
        else:
            self._buttons(message.reply_markup)

    def _show_sendVenue(self, call: Call) -> None:
        p = call.params
        self._bot(f"[lieu : {p.get('title', '')} — {p.get('address', '')} "
                  f"({p.get('latitude')}, {p.get('longitude')})]")
        if call.message is not None:
            self._buttons(call.message.reply_markup)

    def _show_sendLocation(self, call: Call) -> None:
        self._bot(f"[position : {call.params.get('latitude')}, {call.params.get('longitude')}]")


def _free_path(path: Path) -> Path:
    """`path`, or `name-2.pdf`, `name-3.pdf`…: each document keeps its own file."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


async def stdin_lines(stream: TextIO | None = None) -> AsyncIterator[str]:
    """Lines of stdin, read by a daemon thread so the event loop never blocks on input."""
    stream = stream or sys.stdin
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in iter(stream.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="demo-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


class Demo:
    """One demo session: the stand-in, the real application and the demo user."""

    def __init__(self, api: FakeBotAPI, application: Application, transcript: Transcript,
                 user_id: int, first_name: str, language_code: str, settle: float) -> None:
        self.api, self.application, self.transcript = api, application, transcript
        self.user_id, self.first_name, self.language_code = user_id, first_name, language_code
        self.settle = settle

    def handle(self, line: str) -> int | None:
        """Turn one typed line into an update; None when nothing was sent."""
        words = line.split()
        if not words:
            return None
        if line.isdigit() and len(line) <= MAX_BUTTON_DIGITS \
                and (len(line) == 1 or int(line) <= self._buttons_shown()):
            return self._press(int(line))
        if words[0].lower() == "loc":
            return self._location(words[1:])
        if words[0].lower() == "tel":
            return self._contact("".join(words[1:]) or DEMO_PHONE)
        return self.api.send_text(self.user_id, line, first_name=self.first_name,
                                  language_code=self.language_code)

    def _buttons_shown(self) -> int:
        """How many buttons the latest message with buttons has (a larger two-digit number,
        such as a département code « 93 », is sent as text)."""
        message = self.api.last_with_buttons(self.user_id)
        return len([b for b in (message.buttons if message else []) if b.callback_data])

    def _press(self, number: int) -> int | None:
        message = self.api.last_with_buttons(self.user_id)
        choices = [b for b in (message.buttons if message else []) if b.callback_data]
        if message is None or not 1 <= number <= len(choices):
            self.transcript.write(f"  (pas de bouton n°{number})\n")
            return None
        return self.api.press_button(self.user_id, message.message_id,
                                     choices[number - 1].callback_data or "",
                                     first_name=self.first_name,
                                     language_code=self.language_code)

    def _location(self, args: list[str]) -> int | None:
        try:
            latitude, longitude = (float(x.replace(",", ".")) for x in args) if args \
                else DEMO_POSITION
        except ValueError:
            self.transcript.write("  (usage : loc, ou loc 48.85 2.35)\n")
            return None
        return self.api.send_location(self.user_id, latitude, longitude,
                                      first_name=self.first_name,
                                      language_code=self.language_code)

    def _contact(self, phone: str) -> int:
        """Share one's own phone number, as Telegram's "share my number" button does."""
        return self.api.send_contact(self.user_id, phone, self.first_name,
                                     language_code=self.language_code)

    def _busy(self) -> bool:
        processor = self.application.update_processor
        return (self.api.pending_updates() > 0 or not self.application.update_queue.empty()
                or processor.current_concurrent_updates > 0)

    async def until_idle(self, max_wait: float = 15.0) -> None:
        """Wait until the update is processed and the bot stayed silent for `settle` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        seen, quiet_since = len(self.api.calls), loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.02)
            if len(self.api.calls) != seen:
                seen, quiet_since = len(self.api.calls), loop.time()
            if not self._busy() and loop.time() - quiet_since >= self.settle:
                return


async def _build(factory: AppFactory, base_url: str) -> Application:
    built = factory(base_url)
    return await built if inspect.isawaitable(built) else built


async def _converse(demo: Demo, lines: AsyncIterable[str], echo: bool) -> None:
    demo.transcript.write(BANNER)
    iterator = aiter(lines)
    while True:
        demo.transcript.write("vous> ")
        line = await anext(iterator, None)
        if line is None:
            demo.transcript.write("\n")
            return
        line = line.strip()
        if echo:
            demo.transcript.write(line + "\n")
        if line.lower() in QUIT:
            return
        if demo.handle(line) is not None:
            await demo.until_idle()


async def run_demo(build_application: AppFactory, *, lines: AsyncIterable[str] | None = None,
                   output: TextIO | None = None, user_id: int = DEMO_USER_ID,
                   first_name: str = "Dr Démo", language_code: str = "fr",
                   save_dir: Path = Path("data/demo"), settle: float = 0.3,
                   echo: bool | None = None) -> None:
    """Chat in the terminal with the application `build_application(base_url)` returns.

    `lines`/`output` default to stdin/stdout; typed lines are echoed when the input is not
    a terminal (`echo`). The application runs like PTB's run_polling (post_init included).
    """
    output = output or sys.stdout
    if echo is None:
        echo = lines is not None or not sys.stdin.isatty()
    # Update ids above any earlier session's: the bot keeps the ids it processed.
    first_update_id = int(time.time() * 1000)
    async with FakeBotAPI(token=DEMO_TOKEN, first_update_id=first_update_id) as api:
        application = await _build(build_application, api.base_url)
        api.token = application.bot.token  # the stand-in answers whatever token it was given
        transcript = Transcript(output, save_dir, user_id)
        unsubscribe = api.subscribe(transcript.on_call)
        demo = Demo(api, application, transcript, user_id, first_name, language_code, settle)
        try:
            async with started(application, polling=True, poll_timeout=1):
                await _converse(demo, lines if lines is not None else stdin_lines(), echo)
        finally:
            unsubscribe()
