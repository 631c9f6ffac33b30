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
        embedded_runner=os.environ.get("AFTERFLOW_EMBEDDED_RUNNER", "1") not in ("0", "false", "no"),
    )


def _stored_secret(folder: Path) -> str:
    # A key that survives restarts (sessions stay valid) without anyone having to set one.
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
