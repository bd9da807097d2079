"""`vvs-admin referents add|list|remove|invite` against an SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from admin.cli import main
from escalation import referents
from escalation.service import EscalationConfig, EscalationService
from vvs.clock import SystemClock
from vvs.db import make_engine, make_session_factory, transaction
from vvs.jobs import JobScheduler
from vvs.outbox import OutboxWriter
from vvs.settings import async_database_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    return int(done.value.code or 0), capsys.readouterr().out.strip().splitlines()


async def _enrol(url: str, code: str) -> str:
    engine = make_engine(async_database_url(url))
    try:
        sessions = make_session_factory(engine)
        clock = SystemClock()
        svc = EscalationService(OutboxWriter(clock), JobScheduler(clock), clock,
                                EscalationConfig())
        async with transaction(sessions) as s:
            ref = await referents.enrol_with_code(svc, s, code, name="Dr Code", telegram_id=77)
            return ref.department
    finally:
        await engine.dispose()


def test_referents_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    code, out = run(capsys, "referents", "add", "--department", "93", "--telegram-id", "42",
                    "--name", "Dr Martin")
    assert code == 0 and "Dr Martin" in out[-1]
    code, out = run(capsys, "referents", "invite", "--department", "94")
    invite = out[-1]
    assert code == 0 and " " not in invite and len(invite) >= 12
    assert asyncio.run(_enrol(url, invite)) == "94"
    code, out = run(capsys, "referents", "list")
    assert "93\tpersonne\t42\tDr Martin\tactif" in out and out[-1] == "2 référent(s)"
    code, out = run(capsys, "referents", "remove", "--telegram-id", "42")
    assert code == 0 and "0 demande(s)" in out[-1]
    assert run(capsys, "referents", "remove", "--telegram-id", "42")[0] == 1
    with pytest.raises(SystemExit):
        main(["referents", "invite", "--department", "13"])
