"""End-to-end latency and throughput of the real bot through the local Bot API stand-in.

Compares our per-user update processor (users concurrently, one user in order) with
python-telegram-bot's default (one update at a time), in the same run, on SQLite, without
the rate limiter (Telegram caps a bot at ~30 messages/s; that cap is not what we measure).
Usage: python bench/bench_bot.py [--users 20] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.compose import composed
from bot.fakeapi import FakeBotAPI
from bot.lifecycle import started
from vvs.settings import Settings

TOKEN = "123456:BENCH"


async def run(users: int, messages: int, per_user: bool, tmp: Path,
              limiter: bool = False) -> dict[str, float]:
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, data_dir=tmp,  # type: ignore[call-arg]
                        database_url=f"sqlite:///{tmp / 'bench.db'}", pseudonym_key="k" * 32,
                        flood_burst=10_000)
    latencies: list[float] = []
    async with FakeBotAPI(token=TOKEN) as api, \
            composed(settings, token=TOKEN, base_url=api.base_url,
                     rate_limit=limiter) as services:
        application = services.application
        if not per_user:
            application._update_processor = _sequential()
        done = asyncio.Event()
        expected = users * messages
        sent_at: dict[int, list[float]] = {}

        def on_call(call) -> None:
            if call.method == "sendMessage" and call.chat_id in sent_at \
                    and sent_at[call.chat_id]:
                latencies.append(time.monotonic() - sent_at[call.chat_id].pop(0))
                if len(latencies) == expected:
                    done.set()

        api.subscribe(on_call)
        async with started(application, polling=True):
            start = time.monotonic()
            for _round in range(messages):
                for user in range(users):
                    uid = 10_000 + user
                    sent_at.setdefault(uid, []).append(time.monotonic())
                    api.send_command(uid, "/urgence")
            await asyncio.wait_for(done.wait(), 300)
            elapsed = time.monotonic() - start
    latencies.sort()
    return {"updates/s": expected / elapsed, "median ms": statistics.median(latencies) * 1e3,
            "p99 ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3}


def _sequential():
    from telegram.ext import SimpleUpdateProcessor

    return SimpleUpdateProcessor(1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.users} users x {args.messages} /urgence each, SQLite, local stand-in")
    for label, per_user in (("per-user processor (ours)", True),
                            ("one update at a time (PTB default)", False)):
        with tempfile.TemporaryDirectory() as tmp:
            figures = await run(args.users, args.messages, per_user, Path(tmp))
        print(f"  {label:38s} " + "  ".join(f"{k} {v:8.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
