"""Transports: webhook (secret checked, /healthz) and the real `python -m bot` process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from annuaire.loader import AnnuaireSet
from bot.compose import compose
from bot.fakeapi import FakeBotAPI
from bot.web import SECRET_HEADER, WEBHOOK_PATH, make_web_app
from tests.botharness import TOKEN, make_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-" + "x" * 24
DOCTOR = 601


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_webhook_refuses_wrong_secret_and_serves_right_one(db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, bot_mode="webhook", webhook_secret=SECRET,
                             webhook_url="https://example.org/telegram/webhook")
    async with FakeBotAPI(token=TOKEN) as api:
        services = await compose(settings, content_sets=[AnnuaireSet()], token=TOKEN,
                                 base_url=api.base_url, updater=False)
        application = services.application
        runner, url = await _serve(make_web_app(application, SECRET))
        try:
            async with application:
                await application.start()
                update = {"update_id": 5, "message": {
                    "message_id": 1, "date": 0, "chat": {"id": DOCTOR, "type": "private"},
                    "from": {"id": DOCTOR, "is_bot": False, "first_name": "A"},
                    "text": "/urgence",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 8}]}}
                async with aiohttp.ClientSession() as http:
                    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1]}):
                        async with http.post(url + WEBHOOK_PATH, json=update,
                                             headers=headers) as resp:
                            assert resp.status == 403
                    async with http.get(url + "/healthz") as resp:
                        assert resp.status == 200 and (await resp.json())["ok"] is True
                await asyncio.sleep(0.3)
                assert api.calls_to("sendMessage") == []  # nothing was processed
                await application.bot.set_webhook(url + WEBHOOK_PATH, secret_token=SECRET)
                api.send_command(DOCTOR, "/start")
                call = await api.wait_for("sendMessage", chat_id=DOCTOR, timeout=10)
                assert "Vigilance-Violences-Sécurité" in call.params["text"]
                await application.stop()
        finally:
            await runner.cleanup()
            await services.engine.dispose()


async def test_python_m_bot_answers_start_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
               "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": "", "BOT_MODE": "polling",
               "PSEUDONYM_KEY": "k" * 32}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await api.wait_for("setMyCommands", timeout=60)
            api.send_command(DOCTOR, "/start")
            call = await api.wait_for(
                lambda c: c.method == "sendMessage" and "reply_markup" in c.params,
                chat_id=DOCTOR, timeout=30)
            assert "Que souhaitez-vous faire" in call.params["text"]
            proc.send_signal(signal.SIGHUP)  # reload the content, as an admin's /recharger
            for _ in range(100):
                if _publications(tmp_path / "data" / "vvs.db"):
                    break
                await asyncio.sleep(0.1)
            assert _publications(tmp_path / "data" / "vvs.db") == [("sighup", 1)]
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()[-2000:]


def _publications(db: Path) -> list[tuple[str, int]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT origin, accepted FROM content_publication"))


async def test_python_m_bot_in_webhook_mode(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a free port for our webhook server
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with FakeBotAPI(token=TOKEN) as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
               "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": "", "BOT_MODE": "webhook",
               "WEBHOOK_URL": f"http://127.0.0.1:{port}", "WEBHOOK_SECRET": SECRET,
               "PSEUDONYM_KEY": "k" * 32, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
               "ADMIN_IDS": "900"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            call = await api.wait_for("setWebhook", timeout=60)
            assert call.params["url"] == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            for _ in range(100):  # the server starts right after setWebhook
                try:
                    async with aiohttp.ClientSession() as http, \
                            http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            api.send_command(DOCTOR, "/urgence")  # the stand-in POSTs it with the secret
            answer = await api.wait_for("sendMessage", chat_id=DOCTOR, timeout=30)
            assert "112" in answer.params["text"]
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()[-2000:]
