"""Settings from the environment, with defaults that run on one machine with SQLite."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from afterflow import default_instance_dir
from engine.calendar import CalendarConfig


@dataclass(frozen=True)
class Settings:
    """What the app and the CLI are configured with."""

    database_url: str
    secret_key: str
    instance_dir: Path
    calendar: CalendarConfig
    embedded_runner: bool = True
    max_upload_bytes: int = 10 * 1024 * 1024
    #: Send the session cookie only over HTTPS (set it when the site is served over HTTPS).
    session_cookie_secure: bool = False
    #: Strict-Transport-Security max-age in seconds; 0 sends no HSTS header.
    hsts_seconds: int = 0
    #: How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none trusted).
    proxy_hops: int = 0
    #: Where login throttling counts failures across processes: None for the database, or a Redis URL.
    redis_url: str | None = None
    #: Failed log-ins of one account, or from one address, within the window that lock it out.
    login_account_failures: int = 5
    login_address_failures: int = 20
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    #: "text" or "json" (one JSON object per log line).
    log_format: str = "text"
    #: When set, ``/metrics`` answers only requests bearing this token.
    metrics_token: str | None = None
    #: Whether SECRET_KEY came from the environment (else a generated key kept in the instance folder).
    secret_key_configured: bool = True


def load_settings(instance_dir: Path | None = None) -> Settings:
    """Read settings from ``AFTERFLOW_*`` / ``DATABASE_URL`` environment variables."""
    folder = instance_dir or Path(os.environ.get("AFTERFLOW_INSTANCE_DIR") or default_instance_dir())
    folder.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'afterflow.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    calendar = CalendarConfig.from_mapping(
        {
            key[len("AFTERFLOW_CALENDAR_") :].lower(): value
            for key, value in os.environ.items()
            if key.startswith("AFTERFLOW_CALENDAR_")
        }
    )
    return Settings(
        database_url=url,
        secret_key=os.environ.get("SECRET_KEY") or _stored_secret(folder),
        instance_dir=folder,
        calendar=calendar,
        embedded_runner=_flag("AFTERFLOW_EMBEDDED_RUNNER", True),
        session_cookie_secure=_flag("AFTERFLOW_SESSION_COOKIE_SECURE", False),
        hsts_seconds=_count("AFTERFLOW_HSTS_SECONDS"),
        proxy_hops=_count("AFTERFLOW_PROXY_HOPS"),
        redis_url=os.environ.get("AFTERFLOW_REDIS_URL") or None,
        login_account_failures=_count("AFTERFLOW_LOGIN_ACCOUNT_FAILURES", 5),
        login_address_failures=_count("AFTERFLOW_LOGIN_ADDRESS_FAILURES", 20),
        login_window_minutes=_count("AFTERFLOW_LOGIN_WINDOW_MINUTES", 15),
        login_lockout_minutes=_count("AFTERFLOW_LOGIN_LOCKOUT_MINUTES", 15),
        log_format="json" if os.environ.get("AFTERFLOW_LOG_FORMAT", "").lower() == "json" else "text",
        metrics_token=os.environ.get("AFTERFLOW_METRICS_TOKEN") or None,
        secret_key_configured=bool(os.environ.get("SECRET_KEY")),
    )


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _count(name: str, default: int = 0) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


def _stored_secret(folder: Path) -> str:
    # A key that survives restarts (sessions stay valid) without anyone having to set one.
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
