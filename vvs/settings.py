"""Settings from the environment and an optional `.env` (pydantic-settings).

`get_settings()` is called once, in `bot.__main__`; everything else receives values.
A malformed value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vvs.errors import ConfigError
from vvs.sqlite_inline import DRIVER as SQLITE_DRIVER

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_API = "https://api.telegram.org/bot"


class BotMode(StrEnum):
    polling = "polling"
    webhook = "webhook"


class Settings(BaseSettings):
    """Every setting of the service; names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False,
                                      env_ignore_empty=True)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API
    database_url: str | None = None
    data_dir: Path = Path("data")  # relative to the working directory
    bot_mode: BotMode = BotMode.polling
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    pseudonym_key: SecretStr | None = None
    content_dir: Path = PROJECT_ROOT
    log_level: str = "INFO"
    data_controller: str | None = None  # shown by /confidentialite; set by the operator
    # Escalations (see README)
    escalation_reminder_minutes: int = Field(default=240, ge=1)
    escalation_regional_minutes: int = Field(default=1440, ge=1)
    regional_chat_id: int | None = None
    invite_expiry_hours: int = Field(default=72, ge=1)
    escalation_retention_days: int = Field(default=30, ge=1)
    # A physician blocked for abuse (pseudonym only) is unblocked and forgotten after this
    block_retention_days: int = Field(default=365, ge=1)
    # Statistics: raw events older than this are folded into monthly aggregates
    event_retention_months: int = Field(default=13, ge=1)
    stats_publish_threshold: int = Field(default=5, ge=2)  # `--publish`: counts below show "< N"
    # Questions physicians chose to send to the editors (knowledge/queue.py): deleted after
    question_retention_days: int = Field(default=90, ge=1, le=366)
    max_open_requests: int = Field(default=3, ge=1)
    # abuse: requests a physician may create, and cancel, in any 24 h (each counted apart)
    request_limit_per_day: int = Field(default=3, ge=1)
    # Platform
    state_expiry_hours: int = Field(default=24, ge=1)
    processed_update_retention_hours: int = Field(default=48, ge=1)
    flood_rate_per_second: float = Field(default=2.0, gt=0)
    flood_burst: int = Field(default=10, ge=1)
    content_poll_seconds: int = Field(default=30, ge=1)
    # Operators' console (bot/console): where its links point, how long a session lasts
    console_url: str | None = None
    console_session_hours: int = Field(default=8, ge=1, le=24 * 7)
    console_audit_retention_days: int = Field(default=365, ge=30)
    # off: no PTB rate limiter, for benchmarks of our own processing against the local Bot API
    # stand-in only (Telegram caps a bot at about 30 messages a second)
    bot_rate_limit: bool = True

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("comma-separated Telegram user ids expected") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str | None) -> str | None:
        scheme = (value or "").split("://")[0].split("+")[0]
        if value and scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("sqlite:///… or postgresql://… expected")
        return value

    @model_validator(mode="after")
    def _rate_limit_off_only_locally(self) -> Settings:
        if not self.bot_rate_limit and not _on_loopback(self.telegram_api_base_url):
            raise ValueError("BOT_RATE_LIMIT=off is for benchmarks against a local Bot API "
                             "stand-in only: TELEGRAM_API_BASE_URL must be on loopback")
        return self

    @model_validator(mode="after")
    def _webhook_requirements(self) -> Settings:
        if self.bot_mode is BotMode.webhook and self.telegram_bot_token is not None:
            missing = [n for n in ("webhook_secret", "pseudonym_key", "webhook_url")
                       if getattr(self, n) is None]
            if missing:
                raise ValueError(f"{missing[0].upper()} is required in webhook mode")
            if self.regional_chat_id is None and not self.admin_ids:
                # A referent request must always reach someone (the fallback chain ends here).
                raise ValueError("REGIONAL_CHAT_ID or ADMIN_IDS is required in webhook mode: "
                                 "a referent request must always reach someone")
        return self

    def startup_warnings(self) -> tuple[str, ...]:
        """What a deployment should fix, though the bot can run."""
        warnings = []
        if self.bot_mode is BotMode.webhook and not self.data_controller:
            warnings.append("DATA_CONTROLLER is not set: /confidentialite cannot name the "
                            "data controller")
        problem = self.console_problem()
        if problem:
            warnings.append(problem)
        return tuple(warnings)

    def resolved_console_url(self) -> str:
        """CONSOLE_URL, or the origin of WEBHOOK_URL + /console in webhook mode, or the
        loopback address of our own server (polling, demo)."""
        if self.console_url:
            return self.console_url.rstrip("/")
        if self.bot_mode is BotMode.webhook and self.webhook_url and not self.demo:
            parts = urlsplit(self.webhook_url)
            return f"{parts.scheme}://{parts.netloc}/console"
        return f"http://127.0.0.1:{self.http_port}/console"

    def console_problem(self) -> str | None:
        """Why the console must not start (its URL is not https outside loopback), or None."""
        url = urlsplit(self.resolved_console_url())
        if url.scheme not in {"http", "https"} or not url.hostname:
            return f"CONSOLE_URL: http(s) URL expected, got {self.resolved_console_url()!r}"
        if url.scheme == "https" or is_loopback(url.hostname):
            return None
        return ("CONSOLE_URL must be https outside loopback: the console is not started "
                f"({url.scheme}://{url.hostname})")

    def log_secrets(self) -> tuple[str, ...]:
        """Values the logs must never show (the redactor replaces them)."""
        secrets = [s.get_secret_value() for s in (self.telegram_bot_token, self.webhook_secret,
                                                  self.pseudonym_key) if s is not None]
        if self.database_url and "@" in self.database_url:  # the password of a database URL
            secrets.append(self.database_url.split("://", 1)[-1].split("@", 1)[0])
        return tuple(secrets)

    @property
    def demo(self) -> bool:
        """No token: run the embedded demo against the local Bot API stand-in."""
        return self.telegram_bot_token is None

    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL; default: an SQLite file in the data folder."""
        return async_database_url(self.database_url or f"sqlite:///{self.data_dir / 'vvs.db'}")

    def resolved_pseudonym_key(self) -> bytes:
        """The key of the keyed hash; in demo mode generated once and kept in the data folder."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        key_file = self.data_dir / "pseudonym.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _on_loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def async_database_url(url: str) -> str:
    """Choose the async driver for a plain URL: SQLite's statements run inline on the event
    loop (`vvs.sqlite_inline`), PostgreSQL goes through asyncpg."""
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0]
    if base == "sqlite":
        return f"sqlite+{SQLITE_DRIVER}://{rest}"
    if base in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"DATABASE_URL: unsupported scheme {scheme!r}")


def get_settings(**overrides: object) -> Settings:
    """Read the settings; turn a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]).upper() or "configuration"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
