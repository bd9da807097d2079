"""A local HTTP stand-in of the Telegram Bot API, for the demo, the tests and the benchmarks.

The real ``Application`` talks to it through ``base_url`` exactly as it talks to Telegram; the
stand-in records every call, injects real ``Update`` JSON (polling or webhook) and fails on
demand. Run ``python -m bot.fakeapi --port 8081`` to use it by hand (see ``/_fake/*``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from itertools import count
from typing import Any, Protocol, TypedDict, Unpack

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

JSON = dict[str, Any]


class ChatOptions(TypedDict, total=False):
    """Where a simulated user writes, in which language (see `send_text`)."""

    chat_id: int | None
    language_code: str | None
    reply_to_message_id: int | None
    chat_type: str | None


class UserOptions(ChatOptions, total=False):
    """A simulated user's message options (see `send_text`)."""

    first_name: str | None
Handler = Callable[[JSON, dict[str, "UploadedFile"]], Awaitable[Any]]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FAILURE_KINDS = ("timeout", "429", "500", "502", "403", "400")
_DESCRIPTIONS = {
    403: "Forbidden: bot was blocked by the user",
    400: "Bad Request: chat not found",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Form fields PTB sends as plain strings; every other field is JSON-encoded by PTB.
_TEXT_FIELDS = frozenset({
    "text", "caption", "title", "address", "first_name", "last_name", "phone_number", "url",
    "secret_token", "description", "short_description", "name", "callback_query_id",
    "inline_message_id", "parse_mode", "action", "foursquare_id", "foursquare_type",
    "google_place_id", "google_place_type", "language_code", "business_connection_id",
    "message_effect_id", "vcard", "emoji", "query", "ip_address", "file_id",
})
_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
})
MAX_TEXT = 4096
MAX_CAPTION = 1024


class Clock(Protocol):
    def now(self) -> datetime: ...


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description, optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart/form-data)."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button, flattened."""

    text: str
    callback_data: str | None
    url: str | None
    row: int
    column: int


@dataclass
class Call:
    """One request the bot made; `failure` is the injected failure kind, if any."""

    index: int
    method: str
    params: JSON
    files: dict[str, UploadedFile]
    time: float
    status: int = 200
    result: object = None
    failure: str | None = None
    description: str | None = None
    message: SentMessage | None = None

    @property
    def chat_id(self) -> int | str | None:
        """The chat the call was about, if any."""
        return _as_chat_id(self.params.get("chat_id"))

    @property
    def ok(self) -> bool:
        """True when the bot received a successful answer."""
        return self.status == 200 and self.failure is None

    @property
    def took_effect(self) -> bool:
        """True when the request was carried out (even if its answer was then lost)."""
        return self.status == 200


@dataclass
class SentMessage:
    """A message the bot sent, kept up to date with later edits and deletion."""

    chat_id: int
    message_id: int
    method: str
    text: str | None
    parse_mode: str | None
    reply_markup: JSON | None
    raw: JSON
    document: UploadedFile | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def plain(self) -> str:
        """The text (or caption) as the user sees it, without HTML tags."""
        if self.text is None:
            return ""
        return html_to_text(self.text) if _is_html(self.parse_mode) else self.text

    @property
    def buttons(self) -> list[InlineButton]:
        """The inline keyboard buttons, row by row."""
        return inline_buttons(self.reply_markup)

    def button_data(self, label: str) -> str:
        """The callback data of the first button whose text contains `label`."""
        for button in self.buttons:
            if label in button.text and button.callback_data is not None:
                return button.callback_data
        raise LookupError(f"no button containing {label!r} in {[b.text for b in self.buttons]}")


@dataclass
class _Failure:
    method: str
    kind: str
    remaining: int
    chat_id: int | None
    retry_after: int
    after_send: bool
    hold: float
    description: str | None


@dataclass
class _Pending:
    update: JSON
    returned: bool = False
    redelivery: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _Chat:
    chat: JSON
    next_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    content: bytes


class _Signal:
    """Wake every waiter when something changed (no polling sleeps)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max(timeout, 0.0))


class _Validator(HTMLParser):
    """Telegram's HTML subset: known tags only, properly nested."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.stack: list[str] = []
        self.text: list[str] = []

    def _offset(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        chars = sum(len(x) + 1 for x in lines[: line - 1]) + col
        return len(self.source[:chars].encode())

    def _fail(self, what: str) -> None:
        raise ApiError(400, f"Bad Request: can't parse entities: {what} "
                            f"at byte offset {self._offset()}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def check(self) -> str:
        self.feed(self.source)
        self.close()
        if self.stack:
            raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                                f'corresponding to start tag "{self.stack[-1]}"')
        return "".join(self.text)


class _TextOnly(HTMLParser):
    def __init__(self, links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.links = links
        self.parts: list[str] = []
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.href = dict(attrs).get("href")
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links and self.href:
            self.parts.append(f" <{self.href}>")
        if tag == "a":
            self.href = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(text: str, *, links: bool = False) -> str:
    """Telegram HTML → plain text; with `links`, each link's URL follows its text."""
    parser = _TextOnly(links)
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def check_html(text: str) -> str:
    """Validate Telegram HTML like Telegram does; returns the plain text or raises ApiError."""
    return _Validator(text).check()


def inline_buttons(markup: JSON | None) -> list[InlineButton]:
    """The buttons of an inline keyboard markup dict, flattened row by row."""
    rows = (markup or {}).get("inline_keyboard") or []
    return [InlineButton(b.get("text", ""), b.get("callback_data"), b.get("url"), r, c)
            for r, row in enumerate(rows) for c, b in enumerate(row)]


def _is_html(parse_mode: str | None) -> bool:
    return (parse_mode or "").upper() == "HTML"


def _as_chat_id(value: object) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str | float):
        with contextlib.suppress(ValueError):
            return int(value)
    return str(value)


def _decode_field(key: str, value: str) -> Any:
    if key in _TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_chat(update: JSON) -> object:
    """The chat whose updates must be delivered in order (the update itself when none)."""
    for key in ("message", "edited_message", "channel_post", "callback_query"):
        content = update.get(key)
        if isinstance(content, dict):
            chat = content.get("chat") or (content.get("message") or {}).get("chat") \
                or content.get("from")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
    return ("update", update.get("update_id"))


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


class FakeBotAPI:
    """The stand-in server: `async with FakeBotAPI(token="123:ABC") as api: ...`."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, host: str = "127.0.0.1",
                 port: int = 0, bot_username: str = "assistant_vvs_bot",
                 bot_first_name: str = "Assistant VVS", clock: Clock | None = None,
                 strict_chats: bool = False, first_update_id: int = 100_001) -> None:
        self.token = token
        self.host, self.port = host, port
        self.bot_username, self.bot_first_name = bot_username, bot_first_name
        self.clock = clock
        self.strict_chats = strict_chats
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.webhook_deliveries: list[tuple[int, int | str]] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | str | None, JSON] = {}
        self.blocked: set[int] = set()
        self.handlers: dict[str, Handler] = self._default_handlers()
        self._attempts: list[tuple[str, int | str | None]] = []
        self._failures: list[_Failure] = []
        self._pending: list[_Pending] = []
        self._history: dict[int, JSON] = {}
        self._injected_at: dict[int, float] = {}
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, JSON] = {}
        self._files: dict[str, _StoredFile] = {}
        self._listeners: list[Callable[[Call], None]] = []
        self._current_call: Call | None = None
        # Telegram's update ids only grow; a stand-in restarted against the same database
        # (the demo) must start above the ids it used before, or they are dropped as seen.
        self._update_ids = count(first_update_id)
        self._ids = count(1)
        self._mark = 0
        self._poll_generation = 0
        self._webhook: JSON = {}
        self._targets: list[str] = []
        self._posted_at: dict[int, float] = {}
        self._webhook_error: tuple[int, str] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._updates_changed = _Signal()
        self._calls_changed = _Signal()

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on host:port (port 0 → an ephemeral port, then stored in `port`)."""
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/_fake/{action}", self._control)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Release held requests and long polls, stop webhook delivery, close the server."""
        self._closing.set()
        self._updates_changed.notify()
        await self._stop_delivery()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """For `Application.builder().base_url(...)`: PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For `Application.builder().base_file_url(...)`."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSON:
        """The bot's User object, as getMe returns it."""
        return {"id": int(self.token.split(":", 1)[0]), "is_bot": True,
                "first_name": self.bot_first_name, "username": self.bot_username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    # ---------------------------------------------------------------- recording

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (to one chat, or all), in order, including deleted ones."""
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The most recent message of the bot still visible in that chat."""
        visible = [m for m in self.sent_messages(chat_id) if not m.deleted]
        return visible[-1] if visible else None

    def last_with_buttons(self, chat_id: int) -> SentMessage | None:
        """The most recent visible message of the bot in that chat with inline buttons."""
        found = [m for m in self.sent_messages(chat_id) if not m.deleted and m.buttons]
        return found[-1] if found else None

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of one method (getUpdates is never recorded; see `attempts`)."""
        return [c for c in self.calls
                if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def attempts(self, method: str, chat_id: int | None = None) -> int:
        """How many requests of `method` reached the server, failed or not."""
        return sum(1 for m, c in self._attempts
                   if m == method and (chat_id is None or c == chat_id))

    def injected_at(self, update_id: int) -> float:
        """`time.monotonic()` when the update was injected (for latency benchmarks)."""
        return self._injected_at[update_id]

    def subscribe(self, listener: Callable[[Call], None]) -> Callable[[], None]:
        """Call `listener` for every recorded call; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget recorded calls, messages, attempts and failure rules (chats stay known)."""
        self.calls.clear()
        self.sent.clear()
        self.webhook_deliveries.clear()
        self._attempts.clear()
        self._failures.clear()
        self._mark = 0

    async def wait_for(self, predicate: Callable[[Call], bool] | str | None = None, *,
                       chat_id: int | None = None, timeout: float = 5.0,
                       since: int | None = None, include_failed: bool = False) -> Call:
        """The first call recorded since the last injection (or index `since`) that matches.

        `predicate` is a method name or a function of the Call; failed attempts are skipped
        unless `include_failed`. Raises TimeoutError after `timeout` seconds.
        """
        start = self._mark if since is None else since
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for call in self.calls[start:]:
                if self._matches(call, predicate, chat_id, include_failed):
                    return call
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [(c.method, c.chat_id, c.status) for c in self.calls[start:]]
                raise TimeoutError(f"no call matching {predicate!r} (chat {chat_id}) within "
                                   f"{timeout}s; calls since #{start}: {seen}")
            await self._calls_changed.wait(remaining)

    @staticmethod
    def _matches(call: Call, predicate: Callable[[Call], bool] | str | None,
                 chat_id: int | None, include_failed: bool) -> bool:
        if not include_failed and not call.took_effect:
            return False
        if chat_id is not None and call.chat_id != chat_id:
            return False
        if isinstance(predicate, str):
            return call.method == predicate
        return predicate is None or predicate(call)

    def _record(self, call: Call) -> None:
        call.index = len(self.calls)
        self.calls.append(call)
        self._calls_changed.notify()
        for listener in list(self._listeners):
            try:
                listener(call)
            except Exception:
                log.exception("fakeapi listener failed")

    # ---------------------------------------------------------------- failures

    def fail_next(self, method: str, kind: str, times: int = 1, *, chat_id: int | None = None,
                  retry_after: int = 1, after_send: bool = False, hold: float = 60.0,
                  description: str | None = None) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail.

        kind: "timeout" (hold the request `hold` seconds, or until stop; with `after_send` the
        request is carried out first, so the bot's message exists but its answer is lost),
        "429" (retry_after), "500", "502", "403" (blocked), "400" (chat not found).
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; expected one of {FAILURE_KINDS}")
        self._failures.append(_Failure(method, kind, times, chat_id, retry_after, after_send,
                                       hold, description))

    def block(self, user_id: int) -> None:
        """The user blocks the bot: every send to that chat answers 403 until `unblock`."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot."""
        self.blocked.discard(user_id)

    def _take_failure(self, method: str, chat_id: int | str | None) -> _Failure | None:
        for rule in self._failures:
            if rule.method == method and rule.chat_id in (None, chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                return rule
        return None

    @staticmethod
    def _failure_error(rule: _Failure) -> ApiError:
        if rule.kind == "429":
            return ApiError(429, rule.description or
                            f"Too Many Requests: retry after {rule.retry_after}",
                            {"retry_after": rule.retry_after})
        code = int(rule.kind)
        return ApiError(code, rule.description or _DESCRIPTIONS[code])

    async def _hold(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        """Route `/bot<token>/<method>`: check the token, apply failures, dispatch, record."""
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        method = request.match_info["method"]
        params, files = await self._parse(request)
        chat_id = _as_chat_id(params.get("chat_id"))
        self._attempts.append((method, chat_id))
        rule = self._take_failure(method, chat_id)
        if method == "getUpdates":
            return await self._poll(params, files, rule)
        call = Call(0, method, params, files, time.monotonic())
        if rule is not None and rule.kind == "timeout":
            return await self._timeout(call, rule)
        try:
            if rule is not None:
                call.failure = rule.kind
                raise self._failure_error(rule)
            call.result = await self._dispatch(call)
        except Exception as exc:
            return self._error(call, exc)
        self._record(call)
        return _ok(call.result)

    def _error(self, call: Call, exc: Exception) -> web.Response:
        """Record a failed call and answer like Telegram (500 for a bug of the stand-in)."""
        error = exc if isinstance(exc, ApiError) else ApiError(
            500, f"Internal Server Error: fakeapi failed on {call.method}: {exc!r}")
        if not isinstance(exc, ApiError):
            log.exception("fakeapi: %s failed", call.method)
        call.status, call.description = error.code, error.description
        self._record(call)
        return web.json_response(error.body(), status=error.code)

    async def _timeout(self, call: Call, rule: _Failure) -> web.Response:
        """Hold the request so the client gives up; with after_send, carry it out first."""
        call.failure = "timeout"
        if rule.after_send:
            try:
                call.result = await self._dispatch(call)
            except ApiError as error:
                call.status, call.description = error.code, error.description
        else:
            call.status = 0
        self._record(call)
        await self._hold(rule.hold)
        return web.json_response(ApiError(504, "Gateway Timeout").body(), status=504)

    async def _poll(self, params: JSON, files: dict[str, UploadedFile],
                    rule: _Failure | None) -> web.Response:
        """getUpdates is counted in `attempts` but not recorded in `calls`."""
        try:
            if rule is not None and rule.kind == "timeout":
                await self._hold(rule.hold)
                raise ApiError(504, "Gateway Timeout")
            if rule is not None:
                raise self._failure_error(rule)
            return _ok(await self._get_updates(params, files))
        except ApiError as error:
            return web.json_response(error.body(), status=error.code)

    async def _dispatch(self, call: Call) -> Any:
        handler = self.handlers.get(call.method)
        if handler is None:
            log.warning("fakeapi: method %s not implemented", call.method)
            raise ApiError(404, "Not Found: method not found")
        self._current_call = call
        try:
            return await handler(call.params, call.files)
        finally:
            self._current_call = None

    def _link(self, sent: SentMessage) -> None:
        """Attach the message a handler created or changed to the call being handled."""
        if self._current_call is not None:
            self._current_call.message = sent

    @staticmethod
    async def _parse(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        """Query string + JSON body or form fields (PTB JSON-encodes non-string values)."""
        params: JSON = {k: _decode_field(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            params.update(body or {})
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(key, value.filename or key, value.file.read(),
                                          value.content_type)
            else:
                params[key] = _decode_field(key, str(value))
        return params, files

    async def _download(self, request: web.Request) -> web.Response:
        """Serve a stored file at base_file_url + file_path."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for stored in self._files.values():
            if stored.path == request.match_info["path"]:
                return web.Response(body=stored.content)
        return web.Response(status=404)

    # ---------------------------------------------------------------- updates

    def _next_update(self, **content: object) -> int:
        update_id = next(self._update_ids)
        self._enqueue({"update_id": update_id, **content})
        return update_id

    def _enqueue(self, update: JSON, redelivery: bool = False) -> None:
        update_id = int(update["update_id"])
        self._history[update_id] = update
        self._injected_at[update_id] = time.monotonic()
        self._pending.append(_Pending(update, redelivery=redelivery))
        self._mark = len(self.calls)
        self._updates_changed.notify()

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [p for p in self._pending if p.update_id >= offset
                             or (p.redelivery and not p.returned)]

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        """Long polling: answer at once when updates wait, else after `timeout` seconds."""
        if self._webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active;"
                                " use deleteWebhook to delete the webhook first")
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.notify()  # an older long poll is now superseded
        self._confirm(int(params.get("offset") or 0))
        limit = int(params.get("limit") or 100)
        deadline = asyncio.get_running_loop().time() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                    "sure that only one bot instance is running")
            batch = self._pending[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if batch or remaining <= 0 or self._closing.is_set():
                break
            await self._updates_changed.wait(remaining)
        for pending in batch:
            pending.returned = True
        return [p.update for p in batch]

    # ---------------------------------------------------------------- webhook

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params, files)
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {"url": url, "secret_token": params.get("secret_token"),
                         "allowed_updates": params.get("allowed_updates"),
                         "max_connections": params.get("max_connections", 40)}
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver_loop())
        self._updates_changed.notify()
        return True

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook, self._targets = {}, []
        await self._stop_delivery()
        return True

    async def _stop_delivery(self) -> None:
        task, self._delivery = self._delivery, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def serve_webhook(self, urls: list[str], *, secret_token: str | None = None,
                      max_connections: int = 40) -> None:
        """Deliver updates as Telegram does to a busy bot: up to `max_connections` requests
        at once, one at a time per chat (in order), to `urls` in turn (a load balancer in front
        of replicas). `setWebhook` keeps the one-at-a-time delivery the tests rely on."""
        self._webhook = {"url": urls[0], "secret_token": secret_token,
                         "allowed_updates": None, "max_connections": max_connections}
        self._targets = list(urls)
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver_concurrently(max_connections))
        self._updates_changed.notify()

    def posted_at(self, update_id: int) -> float | None:
        """When the update was last posted to the webhook (time.monotonic()), if it was."""
        return self._posted_at.get(update_id)

    async def _webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {"url": self._webhook.get("url", ""), "has_custom_certificate": False,
                      "pending_update_count": len(self._pending)}
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _deliver_loop(self) -> None:
        """POST pending updates to the webhook in order; retry failures with a short backoff."""
        backoff = 0.05
        while not self._closing.is_set():
            if not self._pending:
                await self._updates_changed.wait(3600)
                continue
            if await self._post_update(self._pending[0]):
                self._pending.pop(0)
                backoff = 0.05
            else:
                await self._hold(backoff)
                backoff = min(backoff * 2, 1.0)

    async def _deliver_concurrently(self, max_connections: int) -> None:
        """`serve_webhook`'s loop: the first pending update of each chat not in flight is
        posted, up to `max_connections` at once; a failed one is retried after a backoff."""
        in_flight: set[object] = set()
        tasks: set[asyncio.Task[None]] = set()
        turn = count()

        async def post(pending: _Pending, chat: object, url: str) -> None:
            if not await self._post_update(pending, url):
                await self._hold(0.1)
            else:
                self._pending = [p for p in self._pending if p is not pending]
            in_flight.discard(chat)
            self._updates_changed.notify()

        try:
            while not self._closing.is_set():
                seen: set[object] = set()
                for pending in list(self._pending):
                    if len(in_flight) >= max_connections:
                        break
                    chat = _update_chat(pending.update)
                    if chat in seen or chat in in_flight:
                        seen.add(chat)
                        continue
                    seen.add(chat)
                    in_flight.add(chat)
                    url = self._targets[next(turn) % len(self._targets)]
                    task = asyncio.create_task(post(pending, chat, url))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await self._updates_changed.wait(3600)
        finally:
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _post_update(self, pending: _Pending, url: str | None = None) -> bool:
        headers = {"Content-Type": "application/json"}
        if self._webhook.get("secret_token"):
            headers[SECRET_HEADER] = self._webhook["secret_token"]
        assert self._session is not None
        self._posted_at[pending.update_id] = time.monotonic()
        try:
            async with self._session.post(
                    url or self._webhook.get("url", ""), data=json.dumps(pending.update),
                    headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as response:
                status: int | str = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = f"{type(exc).__name__}: {exc}"
        self.webhook_deliveries.append((pending.update_id, status))
        if isinstance(status, int) and 200 <= status < 300:
            return True
        self._webhook_error = (self._date(), f"Wrong response from the webhook: {status}")
        return False

    # ---------------------------------------------------------------- injection

    def _date(self) -> int:
        return int(self.clock.now().timestamp() if self.clock else time.time())

    def _user(self, user_id: int, first_name: str | None = None,
              language_code: str | None = None) -> JSON:
        """The user's User object; None keeps the previous value ("fr" for a new user)."""
        user = self._users.get(user_id) or {"id": user_id, "is_bot": False,
                                            "first_name": f"Dr {user_id}",
                                            "language_code": "fr"}
        if first_name:
            user["first_name"] = first_name
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int, chat_type: str = "private", user: JSON | None = None) -> _Chat:
        if chat_id not in self._chats:
            chat: JSON = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = (user or {}).get("first_name", f"Dr {chat_id}")
            else:
                chat["title"] = f"Groupe {abs(chat_id)}"
            self._chats[chat_id] = _Chat(chat)
        return self._chats[chat_id]

    def _user_message(self, user_id: int, content: JSON, *, chat_id: int | None,
                      first_name: str | None, language_code: str | None,
                      chat_type: str | None, reply_to_message_id: int | None = None) -> JSON:
        user = self._user(user_id, first_name, language_code)
        chat_id = user_id if chat_id is None else chat_id
        kind = chat_type or ("private" if chat_id > 0 else "group")
        state = self._chat(chat_id, kind, user)
        message: JSON = {"message_id": state.new_id(), "date": self._date(),
                         "chat": state.chat, "from": user, **content}
        if reply_to_message_id is not None and reply_to_message_id in state.messages:
            message["reply_to_message"] = state.messages[reply_to_message_id]
        state.messages[message["message_id"]] = message
        return message

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                  first_name: str | None = None, language_code: str | None = None,
                  reply_to_message_id: int | None = None,
                  chat_type: str | None = None) -> int:
        """A user writes `text` (a leading /command gets its bot_command entity).

        `chat_id` defaults to the private chat (= user_id); a negative chat_id is a group.
        `first_name`/`language_code` left to None keep the user's previous values ("fr" at
        first). Returns the update_id.
        """
        content: JSON = {"text": text}
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message = self._user_message(user_id, content, chat_id=chat_id, first_name=first_name,
                                     language_code=language_code, chat_type=chat_type,
                                     reply_to_message_id=reply_to_message_id)
        return self._next_update(message=message)

    def send_command(self, user_id: int, command: str, **kwargs: Unpack[UserOptions]) -> int:
        """A user sends `/command args` (with its bot_command entity)."""
        if not command.startswith("/"):
            command = f"/{command}"
        return self.send_text(user_id, command, **kwargs)

    def press_button(self, user_id: int, message_id: int, data: str, *,
                     chat_id: int | None = None, first_name: str | None = None,
                     language_code: str | None = None) -> int:
        """A user presses a button carrying `data` (forged data allowed) under a message."""
        user = self._user(user_id, first_name, language_code)
        chat_id = user_id if chat_id is None else chat_id
        state = self._chat(chat_id, "private" if chat_id > 0 else "group", user)
        message = state.messages.get(message_id) or {
            "message_id": message_id, "date": self._date(), "chat": state.chat,
            "from": self.bot_user, "text": ""}
        query = {"id": str(next(self._ids)), "from": user, "message": message,
                 "chat_instance": str(abs(hash(state.chat["id"]))), "data": data}
        return self._next_update(callback_query=query)

    def press(self, user_id: int, label: str, *, chat_id: int | None = None) -> int:
        """Press the button whose text contains `label` on the last message with buttons."""
        target = self.last_with_buttons(user_id if chat_id is None else chat_id)
        if target is None:
            raise LookupError(f"no message with buttons in chat {chat_id or user_id}")
        return self.press_button(user_id, target.message_id, target.button_data(label),
                                 chat_id=chat_id)

    def send_location(self, user_id: int, latitude: float, longitude: float,
                      **kwargs: Unpack[UserOptions]) -> int:
        """A user shares a location."""
        return self._send_content(user_id, kwargs, {"location": {
            "latitude": latitude, "longitude": longitude}})

    def send_contact(self, user_id: int, phone_number: str, first_name: str,
                     **kwargs: Unpack[ChatOptions]) -> int:
        """A user shares a contact (their own: user_id is set)."""
        return self._send_content(user_id, UserOptions(**kwargs), {"contact": {
            "phone_number": phone_number, "first_name": first_name, "user_id": user_id}})

    def send_sticker(self, user_id: int, **kwargs: Unpack[UserOptions]) -> int:
        """A user sends a sticker."""
        file = self._store_file(b"sticker", "stickers", "webp")
        return self._send_content(user_id, kwargs, {"sticker": {
            "file_id": file.file_id, "file_unique_id": file.file_unique_id, "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
            "emoji": "👍"}})

    def send_voice(self, user_id: int, duration: int = 3,
                   **kwargs: Unpack[UserOptions]) -> int:
        """A user sends a voice note."""
        file = self._store_file(b"OggS-voice", "voice", "oga")
        return self._send_content(user_id, kwargs, {"voice": {
            "file_id": file.file_id, "file_unique_id": file.file_unique_id,
            "duration": duration, "mime_type": "audio/ogg", "file_size": len(file.content)}})

    def send_photo(self, user_id: int, caption: str | None = None,
                   **kwargs: Unpack[UserOptions]) -> int:
        """A user sends a photo (optionally captioned)."""
        file = self._store_file(b"\xff\xd8\xff-photo", "photos", "jpg")
        content: JSON = {"photo": [{
            "file_id": file.file_id, "file_unique_id": file.file_unique_id, "width": 800,
            "height": 600, "file_size": len(file.content)}]}
        if caption is not None:
            content["caption"] = caption
        return self._send_content(user_id, kwargs, content)

    def _send_content(self, user_id: int, options: UserOptions, content: JSON) -> int:
        message = self._user_message(
            user_id, content, chat_id=options.get("chat_id"),
            first_name=options.get("first_name"), language_code=options.get("language_code"),
            chat_type=options.get("chat_type"))
        return self._next_update(message=message)

    def inject_raw(self, update: JSON) -> int:
        """Queue any update dict as is (an update_id is added when missing)."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._enqueue(update)
        return int(update["update_id"])

    def redeliver(self, update_id: int) -> int:
        """Deliver an update already delivered once more, unchanged (to test deduplication)."""
        self._enqueue(self._history[update_id], redelivery=True)
        return update_id

    def pending_updates(self) -> int:
        """Updates injected but not yet confirmed by the bot (or posted to its webhook)."""
        return len(self._pending)

    # ---------------------------------------------------------------- methods

    def _default_handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._webhook_info,
            "setMyCommands": self._set_commands, "deleteMyCommands": self._delete_commands,
            "getMyCommands": self._get_commands, "setChatMenuButton": self._set_menu_button,
            "getChatMenuButton": self._get_menu_button, "sendMessage": self._send_message,
            "editMessageText": self._edit_text, "editMessageReplyMarkup": self._edit_markup,
            "deleteMessage": self._delete_message, "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._true, "sendDocument": self._send_document,
            "sendVenue": self._send_venue, "sendLocation": self._send_location,
            "sendChatAction": self._true, "getChat": self._get_chat, "getFile": self._get_file,
            "close": self._true, "logOut": self._true,
            "setMyDescription": self._true, "setMyShortDescription": self._true,
        }

    async def _true(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self.bot_user

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    async def _set_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            name, desc = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32) or name != name.lower() or not \
                    name.replace("_", "").isalnum():
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _delete_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    async def _set_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.menu_buttons[_as_chat_id(params.get("chat_id"))] = (
            params.get("menu_button") or {"type": "default"})
        return True

    async def _get_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        key = _as_chat_id(params.get("chat_id"))
        return self.menu_buttons.get(key) or self.menu_buttons.get(None) or {
            "type": "commands"}

    def _target_chat(self, params: JSON) -> _Chat:
        chat_id = _as_chat_id(params.get("chat_id"))
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._chats and self.strict_chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id, "private" if chat_id > 0 else "group")

    def _find(self, params: JSON) -> tuple[_Chat, JSON]:
        state = self._target_chat(params)
        message = state.messages.get(int(params.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return state, message

    @staticmethod
    def _check_markup(markup: object) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for button in inline_buttons(markup):
            data = button.callback_data
            if not button.text:
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline "
                                    "keyboard")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if button.url is not None and not button.url.startswith(("http://", "https://",
                                                                      "tg://")):
                raise ApiError(400, f"Bad Request: inline keyboard button URL '{button.url}' "
                                    "is invalid: Wrong HTTP URL")
        return markup

    @staticmethod
    def _plain(text: object, parse_mode: str | None, limit: int, what: str) -> str:
        text = "" if text is None else str(text)
        plain = check_html(text) if _is_html(parse_mode) else text
        if len(plain) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")
        return plain

    def _new_message(self, state: _Chat, params: JSON, method: str, source: str | None,
                     **content: object) -> JSON:
        markup = self._check_markup(params.get("reply_markup"))
        message: JSON = {"message_id": state.new_id(), "date": self._date(),
                         "chat": state.chat, "from": self.bot_user, **content}
        reply_to = (params.get("reply_parameters") or {}).get("message_id") or params.get(
            "reply_to_message_id")
        if reply_to in state.messages:
            message["reply_to_message"] = state.messages[reply_to]
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        state.messages[message["message_id"]] = message
        sent = SentMessage(state.chat["id"], message["message_id"], method, source,
                           params.get("parse_mode"), markup, message)
        self.sent.append(sent)
        self._link(sent)
        return message

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        state = self._target_chat(params)
        text = params.get("text")
        plain = self._plain(text, params.get("parse_mode"), MAX_TEXT, "message")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._new_message(state, params, "sendMessage", str(text), text=plain)

    def _sent_for(self, chat_id: int, message_id: int) -> SentMessage | None:
        for sent in reversed(self.sent):
            if sent.chat_id == chat_id and sent.message_id == message_id:
                return sent
        return None

    async def _edit_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        state, message = self._find(params)
        text = params.get("text")
        plain = self._plain(text, params.get("parse_mode"), MAX_TEXT, "message")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._check_markup(params.get("reply_markup"))
        sent = self._sent_for(state.chat["id"], message["message_id"])
        if sent and sent.text == text and sent.reply_markup == markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        message.update(text=plain, edit_date=self._date())
        message.pop("reply_markup", None)  # Telegram drops the keyboard unless resent
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if sent:
            sent.text, sent.parse_mode, sent.reply_markup = text, params.get("parse_mode"), markup
            sent.edits += 1
            self._link(sent)
        return message

    async def _edit_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        state, message = self._find(params)
        markup = self._check_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup or (not markup and "reply_markup" not in
                                                       message):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = self._date()
        sent = self._sent_for(state.chat["id"], message["message_id"])
        if sent:
            sent.reply_markup = markup
            sent.edits += 1
            self._link(sent)
        return message

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        state = self._target_chat(params)
        message_id = int(params.get("message_id") or 0)
        if state.messages.pop(message_id, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        sent = self._sent_for(state.chat["id"], message_id)
        if sent:
            sent.deleted = True
        return True

    async def _delete_messages(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        for message_id in params.get("message_ids") or []:
            with contextlib.suppress(ApiError):
                await self._delete_message({**params, "message_id": message_id}, files)
        return True

    def _store_file(self, content: bytes, folder: str, extension: str) -> _StoredFile:
        number = next(self._ids)
        stored = _StoredFile(f"FAKE-{folder}-{number}", f"u{number}",
                             f"{folder}/file_{number}.{extension}", content)
        self._files[stored.file_id] = stored
        return stored

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        state = self._target_chat(params)
        upload = files.get("document")
        given = params.get("document")
        if upload is None and isinstance(given, str) and given.startswith("attach://"):
            upload = files.get(given.removeprefix("attach://"))
        if upload is None and isinstance(given, str):
            known = self._files.get(given)
            upload = UploadedFile("document", given.rsplit("/", 1)[-1],
                                  known.content if known else b"", "application/octet-stream")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = params.get("caption")
        plain = self._plain(caption, params.get("parse_mode"), MAX_CAPTION, "message caption")
        extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
        stored = self._store_file(upload.content, "documents", extension)
        content: JSON = {"document": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": upload.filename, "mime_type": upload.content_type,
            "file_size": len(upload.content)}}
        if caption:
            content["caption"] = plain
        message = self._new_message(state, params, "sendDocument", caption, **content)
        self.sent[-1].document = upload
        return message

    async def _send_location(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        state = self._target_chat(params)
        location = {"latitude": float(params["latitude"]),
                    "longitude": float(params["longitude"])}
        return self._new_message(state, params, "sendLocation", None, location=location)

    async def _send_venue(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        state = self._target_chat(params)
        location = {"latitude": float(params["latitude"]),
                    "longitude": float(params["longitude"])}
        venue = {"location": location, "title": params.get("title", ""),
                 "address": params.get("address", "")}
        return self._new_message(state, params, "sendVenue", None, venue=venue,
                                 location=location)

    async def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = _as_chat_id(params.get("chat_id"))
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return {**self._chats[chat_id].chat, "accent_color_id": 0,
                "max_reaction_count": 11, "accepted_gift_types": {
                    "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                    "premium_subscription": False, "gifts_from_channels": False}}

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), "file_path": stored.path}

    # ---------------------------------------------------------------- manual control

    async def _control(self, request: web.Request) -> web.Response:
        """`/_fake/<action>` for manual use: text, command, press, location, calls, messages."""
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        body = {**request.query, **body}
        user_id = int(body.get("user_id", 1001))
        if action in ("text", "command"):
            return _ok(self.send_text(user_id, str(body["text"])))
        if action == "press":
            return _ok(self.press_button(user_id, int(body["message_id"]), str(body["data"])))
        if action == "location":
            return _ok(self.send_location(user_id, float(body["latitude"]),
                                          float(body["longitude"])))
        if action == "calls":
            return _ok([{"method": c.method, "params": c.params, "status": c.status}
                        for c in self.calls])
        if action == "messages":
            return _ok([{"chat_id": m.chat_id, "message_id": m.message_id, "text": m.plain,
                         "buttons": [(b.text, b.callback_data or b.url) for b in m.buttons]}
                        for m in self.sent])
        return web.json_response(ApiError(404, "Not Found").body(), status=404)


async def _serve(host: str, port: int, token: str) -> None:
    async with FakeBotAPI(token=token, host=host, port=port) as api:
        api.subscribe(lambda c: log.info("%s %s → %s", c.method, c.params, c.status))
        print(f"Fake Bot API on {api.base_url}{token}/<method>  (base_url={api.base_url})")
        print(f"Inject: curl -d '{{\"user_id\":1001,\"text\":\"/start\"}}' "
              f"-H 'Content-Type: application/json' http://{host}:{api.port}/_fake/text")
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """`python -m bot.fakeapi --port 8081`: run the stand-in until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
