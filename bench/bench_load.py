"""Load benchmark: the real bot in webhook mode against a bare python-telegram-bot echo bot.

Both run as server processes of their own (`serve` below), behind the local Bot API stand-in
(`bot/fakeapi.py`), which posts updates to their webhook as Telegram does to a busy bot (up to
40 requests at once, in order per chat; round robin over replicas). Simulated physicians run
realistic sessions in a closed loop (each waits for the bot's whole answer before its next
update): the main menu, a procedure to its outcome, questions, a directory search. Measured
per level of 1, 5, 20 and 100 physicians: updates/s, median and p99 from the webhook request
to the first reply, errors, memory, CPU, SQL statements and commits per update (SQLAlchemy's
and the turns' raw ones on PostgreSQL: `vvs.db.listen_statements`), as ratios to the echo
bot driven the same way in the same run; on SQLite and on PostgreSQL, one and two replicas
(two processes sharing the database); then a cProfile of the bot under 20 physicians. PTB's
rate limiter is off (`compose(rate_limit=False)`): this measures our processing, not
Telegram's ~30 messages/s cap. Everything listens on 127.0.0.1.

    python bench/bench_load.py                        # SQLite, and PostgreSQL when --pg or
                                                      # TEST_POSTGRES_URL gives a server
    python bench/bench_load.py --smoke                # seconds: SQLite, 1 and 3 physicians
    python bench/bench_load.py --json docs/bench_load.json --chart docs/bench_load.svg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import hmac
import json
import logging
import os
import pstats
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TOKEN = "123456:LOADBENCH"
SECRET = "bench-secret"
ERROR_TEXT = "Désolé, une erreur"  # the error handler's answer (bot/app.py)

# One physician's session: (kind, value); kinds: cmd, text, label (press the button whose text
# contains it, on the latest message with buttons), data (press a button with this data).
SESSION: tuple[tuple[str, str], ...] = (
    ("cmd", "/start"),                       # welcome + main menu
    ("data", "m:flow:mineur"),               # a procedure from the menu…
    ("label", "Non"),
    ("label", "infraction"),
    ("label", "Seine-Saint-Denis"),          # …to its outcome (addressees from the directory)
    ("label", "Terminer"),
    ("cmd", "/menu"),
    ("text", "c koi la crip ?"),             # questions to the knowledge base
    ("label", "En savoir plus"),
    ("text", "secret médical et signalement"),
    ("cmd", "/annuaire"),                    # a directory search
    ("text", "umj paris"),                   # kind + place: the nearest UMJs, 3 a page
    ("label", "Plus de résultats"),
)
# The probe the issue describes: one knowledge question, over and over (`--probe question`).
QUESTION: tuple[tuple[str, str], ...] = (("text", "secret médical et signalement"),)
PROBES = {"journey": SESSION, "question": QUESTION}


# ----------------------------------------------------------------------------- server side

class _ErrorCount(logging.Handler):
    """Counts ERROR records (an unhandled exception reaches the error handler as one)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@functools.lru_cache(maxsize=1024)  # the same few statements: counting must cost the bot little
def _statement_kind(statement: str) -> str:
    """`VERB table` of a statement (`LOCK` for an advisory lock), for the per-update table."""
    text = " ".join(statement.split())
    if "pg_advisory" in text:
        return "LOCK advisory"
    verb = text.split(" ", 1)[0].upper()
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text, re.IGNORECASE)
    return f"{verb} {match.group(1)}" if match else verb


async def _serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    errors = _ErrorCount()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger().addHandler(errors)
    kinds: Counter[str] = Counter()
    commits, checkouts = [0], [0]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    gc_cpu, gc_started = [0.0], [0.0]

    def on_gc(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.process_time()
        else:
            gc_cpu[0] += time.process_time() - gc_started[0]

    gc.callbacks.append(on_gc)

    async def stats(_request: web.Request) -> web.Response:
        times = os.times()
        return web.json_response({"statements": sum(kinds.values()), "kinds": dict(kinds),
                                  "commits": commits[0], "checkouts": checkouts[0],
                                  "errors": errors.count, "gc": gc_cpu[0],
                                  "cpu": times.user + times.system})

    async def run(web_app: web.Application) -> None:
        web_app.router.add_get("/bench/stats", stats)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        # CPU time, not wall time: an event loop waiting in epoll is not where time goes
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        print(f"READY {runner.addresses[0][1]}", flush=True)
        if profiler:
            profiler.enable()
        await stop.wait()
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        await runner.cleanup()

    if args.kind == "echo":
        application = _echo_application(args.api)
        async with application:
            await application.start()
            await run(_echo_web_app(application))
            await application.stop()
        return

    from sqlalchemy import event

    from bot.compose import composed
    from bot.lifecycle import started
    from bot.web import make_web_app
    from vvs.db import listen_statements
    from vvs.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=TOKEN, database_url=args.db,
        data_dir=Path(args.data), pseudonym_key="k" * 32, admin_ids="900",
        # flood control would refuse a closed-loop physician: that is not what is measured
        flood_burst=1_000_000, flood_rate_per_second=1_000_000.0)
    async with composed(settings, token=TOKEN, base_url=args.api, updater=False,
                        rate_limit=False) as services:
        def on_statement(statement: str) -> None:
            kinds[_statement_kind(statement)] += 1

        def on_commit() -> None:
            commits[0] += 1

        def on_checkout(*_args: Any) -> None:  # a pre-ping, when the engine pings
            checkouts[0] += 1

        # SQLAlchemy's statements and the turns' raw ones on PostgreSQL (`vvs.turnend`)
        listen_statements(services.engine, on_statement, on_commit)
        event.listen(services.engine.sync_engine.pool, "checkout", on_checkout)
        async with started(services.application, polling=False):
            await run(make_web_app(services.application, SECRET))


def _echo_application(api: str) -> Any:
    """A bare PTB bot: every message is echoed, every button press answered and echoed.
    Updates are processed concurrently with the same HTTP pool as ours (a fair baseline)."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, TypeHandler
    from telegram.request import HTTPXRequest

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            await query.answer()
            await context.bot.send_message(query.from_user.id, query.data or "?")
        elif update.effective_message is not None and update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id,
                                           update.effective_message.text or "?")

    application = (Application.builder().token(TOKEN).base_url(api)
                   .request(HTTPXRequest(connection_pool_size=256)).updater(None)
                   .concurrent_updates(True).build())
    application.add_handler(TypeHandler(Update, echo))
    return application


def _echo_web_app(application: Any) -> Any:
    """The same door as `bot.web` (secret, JSON, `Update.de_json`, the update queue)."""
    from aiohttp import web
    from telegram import Update

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), SECRET.encode()):
            return web.Response(status=403)
        try:
            update = Update.de_json(json.loads(await request.read()), application.bot)
        except Exception:
            return web.Response(status=400)
        await application.update_queue.put(update)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    return app


# ----------------------------------------------------------------------------- driver side

@dataclass
class Server:
    """One server process (a replica of the bot, or the echo bot)."""

    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory(self) -> tuple[float, float]:
        """(RSS, peak RSS) in MiB, from /proc."""
        fields = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                fields[key] = value
        def mib(key: str) -> float:
            return int(fields.get(key, "0 kB").split()[0]) / 1024
        return mib("VmRSS"), mib("VmHWM")

    async def stats(self, session: Any) -> dict[str, Any]:
        async with session.get(f"{self.url}/bench/stats") as response:
            return dict(await response.json())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_server(kind: str, api: str, workdir: Path, name: str, db: str = "",
                       profile: Path | None = None) -> Server:
    log = workdir / f"{name}.log"
    data = workdir / name
    data.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "serve", "--kind", kind,
            "--api", api, "--db", db, "--data", str(data)]
    if profile:
        argv += ["--profile", str(profile)]
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=err,
            cwd=Path(__file__).resolve().parent.parent)
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 180)
    except TimeoutError:
        line = b""
    if not line.startswith(b"READY"):
        process.kill()
        await process.wait()
        raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
    return Server(process, int(line.split()[1]), log)


@dataclass
class Step:
    posted: float
    first: float
    last: float


@dataclass
class Level:
    """What one configuration did at one number of physicians."""

    config: str
    users: int
    updates_per_s: float = 0.0
    median_ms: float = 0.0
    p99_ms: float = 0.0
    turn_median_ms: float = 0.0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    rss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    cpu_ms_per_update: float = 0.0
    driver_cpu_ms_per_update: float = 0.0
    statements_per_update: float = 0.0
    commits_per_update: float = 0.0
    checkouts_per_update: float = 0.0
    gc_ms_per_update: float = 0.0  # the servers' CPU in Python's cyclic garbage collector
    statements: dict[str, float] = field(default_factory=dict)


class Driver:
    """Simulated physicians against the stand-in; each user waits for its whole answer."""

    def __init__(self, api: Any, echo: bool, expected: list[int] | None,
                 quiet: float = 1.0, session: tuple[tuple[str, str], ...] = SESSION) -> None:
        self.api, self.echo, self.expected = api, echo, expected
        self.session = session
        self.quiet = quiet  # calibration: a step is over after this long without a call
        self.calls: dict[int, list[float]] = {}
        self.signals: dict[int, asyncio.Event] = {}
        self.errors: Counter[str] = Counter()
        self.watched: set[int] = set()
        # the stand-in's own look-ups scan every message sent: too slow for a load driver
        self.last: dict[int, Any] = {}
        self.last_buttons: dict[int, Any] = {}
        # the few latest messages with buttons: a label may be on one before the last (the
        # directory's results, then its « retenir votre département ? » question)
        self.recent_buttons: dict[int, list[Any]] = {}
        self.injected = 0
        self.unsubscribe = api.subscribe(self._on_call)

    def _on_call(self, call: Any) -> None:
        chat = call.chat_id
        if not isinstance(chat, int) or chat not in self.watched:
            return
        if not call.ok:
            self.errors["api call refused"] += 1
        if call.method == "sendMessage" and ERROR_TEXT in str(call.params.get("text", "")):
            self.errors["error answer"] += 1
        if call.took_effect:
            if call.message is not None:
                self.last[chat] = call.message
                if call.message.buttons:
                    self.last_buttons[chat] = call.message
                    recent = self.recent_buttons.setdefault(chat, [])
                    recent.append(call.message)
                    del recent[:-4]
            self.calls[chat].append(call.time)
            self.signals[chat].set()

    def inject(self, uid: int, kind: str, value: str) -> int:
        self.injected += 1
        if kind in ("cmd", "text"):
            return int(self.api.send_text(uid, value))
        target = self.last_buttons.get(uid) or self.last.get(uid)
        message_id = target.message_id if target is not None else 1
        if self.echo or target is None or not target.buttons:
            data = f"bench:{value}"[:60]
        elif kind == "data":
            data = value
        else:
            target = next((m for m in reversed(self.recent_buttons.get(uid, []))
                           if any(value in b.text for b in m.buttons)), target)
            message_id, data = target.message_id, target.button_data(value)
        return int(self.api.press_button(uid, message_id, data))

    async def step(self, uid: int, index: int, need: int | None,
                   timeout: float = 60.0) -> Step | None:
        """Send one update of the session and wait for `need` calls to the chat (or, when
        calibrating, for `quiet` seconds without a new one)."""
        kind, value = self.session[index % len(self.session)]
        calls, signal_ = self.calls[uid], self.signals[uid]
        start = len(calls)
        signal_.clear()
        try:
            update_id = self.inject(uid, kind, value)
        except (LookupError, KeyError):
            self.errors["button missing"] += 1
            return None
        deadline = time.monotonic() + timeout
        while True:
            done = len(calls) - start >= need if need is not None else False
            if done:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.errors["no answer in time" if len(calls) == start
                            else "answer incomplete"] += 1
                return None
            wait = remaining if need is not None or len(calls) == start else self.quiet
            signal_.clear()
            try:
                await asyncio.wait_for(signal_.wait(), wait)
            except TimeoutError:
                if need is None and len(calls) > start:
                    break
        posted = self.api.posted_at(update_id) or 0.0
        return Step(posted, calls[start] - posted, calls[-1] - posted)

    def watch(self, uid: int) -> None:
        self.watched.add(uid)
        self.calls[uid], self.signals[uid] = [], asyncio.Event()

    async def calibrate(self, uid: int) -> list[int]:
        """How many calls each step of two sessions makes (the bot's answers are fixed)."""
        self.watch(uid)
        counts = []
        session = self.session
        for index in range(2 * len(session)):
            before = len(self.calls[uid])
            if await self.step(uid, index, None) is None:
                raise RuntimeError(f"calibration: no answer to {session[index % len(session)]}")
            counts.append(len(self.calls[uid]) - before)
        return counts

    async def run(self, users: list[int], warmup: float, seconds: float) -> list[Step]:
        """Closed loop: every user runs sessions until the window closes."""
        start = time.monotonic()
        window = (start + warmup, start + warmup + seconds)
        measured: list[Step] = []

        async def user(uid: int) -> None:
            self.watch(uid)
            index = 0
            while time.monotonic() < window[1]:
                if self.expected is None:
                    need = 1
                else:
                    size = len(self.session)
                    need = self.expected[index % size + (0 if index < size else size)]
                step = await self.step(uid, index, need)
                if step is None:  # resynchronise: let the late answers arrive, then go on
                    await asyncio.sleep(1.0)
                elif window[0] <= step.posted and step.posted + step.last <= window[1]:
                    measured.append(step)
                index += 1

        await asyncio.gather(*(user(uid) for uid in users))
        return measured


async def measure(config: str, servers: list[Server], driver: Driver, users: int,
                  first_uid: int, warmup: float, seconds: float, http: Any) -> Level:
    before = [await s.stats(http) for s in servers]
    errors_before = Counter(driver.errors)
    injected = driver.injected
    own = os.times()
    steps = await driver.run(list(range(first_uid, first_uid + users)), warmup, seconds)
    after = [await s.stats(http) for s in servers]
    now = os.times()
    level = Level(config, users)
    firsts = sorted(s.first for s in steps)
    if firsts:
        level.updates_per_s = len(steps) / seconds
        level.median_ms = statistics.median(firsts) * 1e3
        level.p99_ms = firsts[min(len(firsts) - 1, int(len(firsts) * 0.99))] * 1e3
        level.turn_median_ms = statistics.median(s.last for s in steps) * 1e3
    new_errors = Counter(driver.errors)
    new_errors.subtract(errors_before)
    logged = sum(a["errors"] - b["errors"] for a, b in zip(after, before, strict=True))
    if logged:
        new_errors["error logged by the server"] += logged
    level.error_kinds = {k: v for k, v in new_errors.items() if v}
    level.errors = sum(level.error_kinds.values())
    memory = [s.memory() for s in servers]
    level.rss_mib = sum(m[0] for m in memory)
    level.peak_rss_mib = sum(m[1] for m in memory)
    # Every update of the level (warm-up included) for the per-update figures.
    total = max(1, driver.injected - injected)

    def delta(key: str) -> float:
        return float(sum(a[key] - b[key] for a, b in zip(after, before, strict=True)))

    level.cpu_ms_per_update = delta("cpu") * 1e3 / total
    # the stand-in and the simulated physicians share this process: if it is busy, it is
    # what limits the figures (both bots' alike)
    level.driver_cpu_ms_per_update = (now.user + now.system - own.user - own.system) \
        * 1e3 / total
    level.statements_per_update = delta("statements") / total
    level.gc_ms_per_update = delta("gc") * 1e3 / total
    level.commits_per_update = delta("commits") / total
    level.checkouts_per_update = delta("checkouts") / total if "checkouts" in after[0] else 0
    kinds: Counter[str] = Counter()
    for a, b in zip(after, before, strict=True):
        kinds.update({k: v - b["kinds"].get(k, 0) for k, v in a["kinds"].items()})
    level.statements = {k: round(v / total, 2) for k, v in kinds.most_common() if v > 0}
    return level


async def _pg_admin(admin_url: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE on the server of `admin_url` (any database of it)."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _createdb(admin_url: str, name: str) -> str:
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def _dropdb(admin_url: str, name: str) -> None:
    await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Config:
    """One configuration under test: its server processes and its simulated physicians."""

    name: str
    kind: str
    replicas: int
    db: str
    servers: list[Server] = field(default_factory=list)
    driver: Driver | None = None
    next_uid: int = 0

    @property
    def targets(self) -> list[str]:
        return [f"{server.url}/telegram/webhook" for server in self.servers]

    async def start(self, api: Any, workdir: Path, first_uid: int, quiet: float,
                    session: tuple[tuple[str, str], ...],
                    profile: Path | None = None) -> None:
        for replica in range(self.replicas):  # one after the other: the first one migrates
            name = re.sub(r"\W+", "_", f"{self.name}-{replica}")
            self.servers.append(await start_server(self.kind, api.base_url, workdir, name,
                                                   self.db, profile))
        self.driver = Driver(api, echo=self.kind == "echo", expected=None, quiet=quiet,
                             session=session)
        self.next_uid = first_uid
        if self.kind != "echo":
            api.serve_webhook(self.targets, secret_token=SECRET)
            self.driver.expected = await self.driver.calibrate(self.next_uid)
            self.next_uid += 1

    async def measure(self, api: Any, users: int, warmup: float, seconds: float,
                      http: Any) -> Level:
        assert self.driver is not None
        api.serve_webhook(self.targets, secret_token=SECRET)
        level = await measure(self.name, self.servers, self.driver, users, self.next_uid,
                              warmup, seconds, http)
        self.next_uid += users
        return level

    async def stop(self) -> None:
        if self.driver is not None:
            self.driver.unsubscribe()
        for server in self.servers:
            await server.stop()


def profile_summary(path: Path, what: str, top: int = 14) -> list[str]:
    """The top functions by own time, and own time grouped by package."""
    stats = pstats.Stats(str(path))
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    groups: Counter[str] = Counter()
    rows = []
    for (filename, line, name), (_cc, _nc, tt, ct, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        groups[_package(filename)] += tt
        rows.append((tt, ct, f"{_short(filename)}:{line}({name})"))
    lines = ["CPU time of the event-loop thread by package (cProfile with process_time, "
             f"{what}; C functions apart):"]
    lines += [f"  {pkg:28s} {t / total * 100:5.1f} %" for pkg, t in groups.most_common(12)]
    lines.append(f"top {top} functions by own time:")
    lines += [f"  {tt / total * 100:5.1f} %  cum {ct:7.2f}s  {where}"
              for tt, ct, where in sorted(rows, reverse=True)[:top]]
    return lines


_OURS = ("vvs", "bot", "knowledge", "annuaire", "intent", "escalation", "admin")


def _package(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    for ours in _OURS:
        if f"/{ours}/" in filename and "python3" not in filename:
            return f"ours: {ours}"
    if "asyncio" in parts:
        return "asyncio"
    return "stdlib"


def _short(filename: str) -> str:
    parts = Path(filename).parts
    return "/".join(parts[-3:])


def table(levels: list[Level], echo: dict[int, Level]) -> list[str]:
    lines = ["| configuration | users | updates/s | × echo | median ms | × echo | p99 ms | "
             "× echo | errors | RSS MiB (peak) | CPU ms/update (driver) | statements/update | "
             "commits/update |", "|---" * 13 + "|"]
    for level in levels:
        base = echo.get(level.users)
        def ratio(value: float, ref: float | None) -> str:
            return f"{value / ref:.2f}" if ref else "—"
        lines.append(
            f"| {level.config} | {level.users} | {level.updates_per_s:.0f} | "
            f"{ratio(level.updates_per_s, base.updates_per_s if base else None)} | "
            f"{level.median_ms:.1f} | {ratio(level.median_ms, base.median_ms if base else None)}"
            f" | {level.p99_ms:.0f} | {ratio(level.p99_ms, base.p99_ms if base else None)} | "
            f"{level.errors} | {level.rss_mib:.0f} ({level.peak_rss_mib:.0f}) | "
            f"{level.cpu_ms_per_update:.1f} ({level.driver_cpu_ms_per_update:.1f}) | "
            f"{level.statements_per_update:.1f} | "
            f"{level.commits_per_update:.1f} |")
    return lines


def chart(levels: list[Level], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    configs = list(dict.fromkeys(level.config for level in levels))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for config in configs:
        rows = [level for level in levels if level.config == config]
        users = [level.users for level in rows]
        left.plot(users, [level.updates_per_s for level in rows], marker="o", label=config)
        right.plot(users, [level.p99_ms for level in rows], marker="o", label=f"{config} p99")
        right.plot(users, [level.median_ms for level in rows], marker=".", linestyle=":",
                   color=right.lines[-1].get_color())
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xticks([1, 5, 20, 100], ["1", "5", "20", "100"])
        axis.set_xlabel("simulated physicians (closed loop)")
        axis.grid(alpha=0.3)
    left.set_ylabel("updates/s")
    left.set_title("Throughput")
    right.set_yscale("log")
    right.set_ylabel("ms, webhook request → first reply")
    right.set_title("p99 (solid) and median (dotted)")
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


async def main(args: argparse.Namespace) -> int:
    import aiohttp

    from bot.fakeapi import FakeBotAPI

    levels = [1, 3] if args.smoke else args.users
    session = PROBES[args.probe]
    warmup, seconds = (0.5, 1.5) if args.smoke else (args.warmup, args.seconds)
    quiet = 0.5 if args.smoke else 1.0
    pg = None if args.smoke else (args.pg or os.environ.get("TEST_POSTGRES_URL"))
    results: list[Level] = []
    echo: dict[int, Level] = {}
    profile_lines: list[str] = []

    def report(level: Level) -> None:
        errors = f"  errors {level.error_kinds}" if level.errors else ""
        print(f"  {level.config:24s} {level.users:4d} users  {level.updates_per_s:7.1f} "
              f"updates/s  median {level.median_ms:7.1f} ms  p99 {level.p99_ms:7.1f} ms  "
              f"{level.statements_per_update:4.1f} stmt  {level.commits_per_update:3.1f} "
              f"commits  {level.cpu_ms_per_update:5.1f} ms CPU "
              f"(driver {level.driver_cpu_ms_per_update:3.1f}, GC "
              f"{level.gc_ms_per_update:3.1f})  "
              f"RSS {level.rss_mib:.0f} MiB{errors}", flush=True)

    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vvs-load-") as tmp:
        workdir = Path(tmp)
        configs = [Config("echo (bare PTB)", "echo", 1, ""),
                   Config("bot SQLite", "bot", 1, f"sqlite:///{workdir / 'bot.db'}")]
        try:
            if pg:
                for name, replicas in (("bot PostgreSQL", 1), ("bot PostgreSQL ×2", 2)):
                    db_name = f"vvs_load_{os.getpid()}_{replicas}"
                    configs.append(Config(name, "bot", replicas,
                                          await _createdb(pg, db_name)))
                    made.append(db_name)
            async with FakeBotAPI(token=TOKEN) as api, aiohttp.ClientSession() as http:
                print(f"closed loop, {args.probe}: session of {len(session)} updates; "
                      f"warm-up {warmup} s, "
                      f"window {seconds} s per level; configurations interleaved at each "
                      "level; rate limiter off; 127.0.0.1 only", flush=True)
                print(f"load average at start: {_loadavg()}", flush=True)
                try:
                    for index, config in enumerate(configs):
                        await config.start(api, workdir, (index + 1) * 100_000, quiet,
                                           session)
                    for users in levels:
                        for config in configs:
                            level = await config.measure(api, users, warmup, seconds, http)
                            report(level)
                            results.append(level)
                            if config.kind == "echo":
                                echo[users] = level
                finally:
                    for config in configs:
                        await config.stop()
                if args.profile_users and not args.smoke:
                    path = workdir / "bot.prof"
                    profiled = Config("bot (profiled)", "bot", 1,
                                      await _profiled_db(args, pg, workdir, made))
                    try:
                        await profiled.start(api, workdir, 900_000, quiet, session,
                                             profile=path)
                        await profiled.measure(api, args.profile_users, warmup, seconds, http)
                    finally:
                        await profiled.stop()
                    profile_lines = profile_summary(path, (
                        f"bot under {args.profile_users} physicians, "
                        + ("PostgreSQL" if args.profile_db == "pg" and pg else "SQLite")))
                    if args.keep_profile:
                        shutil.copyfile(path, args.keep_profile)
        finally:
            for db_name in made:
                with contextlib.suppress(Exception):
                    await _dropdb(pg or "", db_name)
    order = [config.name for config in configs]
    results.sort(key=lambda level: (order.index(level.config), level.users))
    print()
    print("\n".join(table(results, echo)))
    for level in results:
        if level.users in (min(levels), max(levels)) and level.config != "echo (bare PTB)":
            print(f"statements per update, {level.config}, {level.users} users: "
                  + ", ".join(f"{k} {v}" for k, v in level.statements.items())
                  + f"; connection checkouts {level.checkouts_per_update:.1f}")
    print("\n".join(profile_lines))
    print(f"load average at the end: {_loadavg()} ({os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps({"levels": [asdict(level) for level in results],
                                         "profile": profile_lines,
                                         "load_average_at_end": _loadavg()}, indent=1,
                                        ensure_ascii=False) + "\n")
    if args.chart:
        chart(results, args.chart)
    failed = sum(level.errors for level in results)
    print(f"errors: {failed}")
    return 1 if failed else 0


async def _profiled_db(args: argparse.Namespace, pg: str | None, workdir: Path,
                       made: list[str]) -> str:
    """The database of the profiled run: SQLite, or a fresh PostgreSQL one (`--profile-db`)."""
    if args.profile_db == "pg" and pg:
        db_name = f"vvs_load_{os.getpid()}_profiled"
        url = await _createdb(pg, db_name)
        made.append(db_name)
        return url
    return f"sqlite:///{workdir / 'profiled.db'}"


def _loadavg() -> str:
    """The machine's load average (1, 5, 15 min): the figures are only as quiet as it is."""
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="internal: one server process")
    serve.add_argument("--kind", choices=("bot", "echo"), required=True)
    serve.add_argument("--api", required=True)
    serve.add_argument("--db", default="")
    serve.add_argument("--data", default=".")
    serve.add_argument("--profile", default="")
    parser.add_argument("--smoke", action="store_true", help="a run of seconds (CI)")
    parser.add_argument("--probe", choices=sorted(PROBES), default="journey",
                        help="realistic sessions, or one knowledge question over and over")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 5, 20, 100])
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--pg", help="a PostgreSQL URL whose server may create databases")
    parser.add_argument("--profile-users", type=int, default=20)
    parser.add_argument("--profile-db", choices=("sqlite", "pg"), default="sqlite",
                        help="the database of the profiled run (pg: needs --pg)")
    parser.add_argument("--keep-profile", type=Path, help="keep the cProfile data there")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--chart", type=Path)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    if arguments.command == "serve":
        asyncio.run(_serve(arguments))
    else:
        sys.exit(asyncio.run(main(arguments)))
