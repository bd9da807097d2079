"""Settings: defaults, driver choice, one clear line per malformed variable, compose file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vvs.errors import ConfigError
from vvs.settings import Settings, async_database_url, get_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize("url, expected", [
    ("sqlite:///data/vvs.db", "sqlite+vvsinline:///data/vvs.db"),
    ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
    ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
])
def test_async_driver_is_chosen(url: str, expected: str) -> None:
    assert async_database_url(url) == expected


@pytest.mark.parametrize("name, value, fragment", [
    ("HTTP_PORT", "eighty", "HTTP_PORT"),
    ("HTTP_PORT", "70000", "HTTP_PORT"),
    ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
    ("BOT_MODE", "carrier-pigeon", "BOT_MODE"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
    ("ESCALATION_REMINDER_MINUTES", "0", "ESCALATION_REMINDER_MINUTES"),
])
def test_malformed_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                            value: str, fragment: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert str(info.value).startswith(fragment) and "\n" not in str(info.value)


def test_webhook_mode_requires_secret_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("BOT_MODE", "webhook")
    monkeypatch.setenv("WEBHOOK_URL", "https://example.org/telegram/webhook")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        get_settings()
    monkeypatch.setenv("WEBHOOK_SECRET", "s" * 20)
    with pytest.raises(ConfigError, match="PSEUDONYM_KEY"):
        get_settings()
    monkeypatch.setenv("PSEUDONYM_KEY", "k" * 32)
    with pytest.raises(ConfigError, match="REGIONAL_CHAT_ID or ADMIN_IDS"):
        get_settings()  # a referent request would have nobody to reach in the end
    monkeypatch.setenv("ADMIN_IDS", "12")
    settings = get_settings()
    assert settings.bot_mode.value == "webhook"
    assert any("DATA_CONTROLLER" in w for w in settings.startup_warnings())
    monkeypatch.setenv("DATA_CONTROLLER", "Conseil régional de l'Ordre des médecins d'IdF")
    assert get_settings().startup_warnings() == ()


def test_demo_key_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.demo
    first = settings.resolved_pseudonym_key()
    assert first == Settings(_env_file=None, data_dir=tmp_path).resolved_pseudonym_key()  # type: ignore[call-arg]
    assert len(first) == 64


def test_admin_ids_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", " 12, 34 ,")
    assert get_settings().admin_ids == frozenset({12, 34})


def test_every_compose_variable_is_a_setting() -> None:
    compose = yaml.safe_load((ROOT / "compose.example.yaml").read_text())
    names = set(compose["services"]["bot"]["environment"])
    known = {n.upper() for n in Settings.model_fields}
    assert names and names <= known, names - known


def test_start_up_stops_with_one_line_on_bad_config(tmp_path: Path) -> None:
    env = {"HTTP_PORT": "nope", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Configuration invalide — HTTP_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"]
