"""Bring a database to the current schema with the Alembic revisions in ``migrations/``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from afterflow import MIGRATIONS


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration for the database at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Engine) -> None:
    """Apply every migration not yet applied."""
    config = alembic_config(db.url.render_as_string(hide_password=False))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
