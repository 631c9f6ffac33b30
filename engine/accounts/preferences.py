"""A user's own settings: the interface language it chose (its timezone is set by an administrator)."""

from __future__ import annotations

from sqlalchemy import update

from engine.errors import EngineError
from engine.runtime import Engine
from engine.store.models import User

LANGUAGES = ("zh", "en")


def remember_language(engine: Engine, username: str, language: str) -> None:
    """Store the interface language a user chose, so that its next login starts in it."""
    if language not in LANGUAGES:
        raise EngineError(f"unknown language '{language}'; known: {', '.join(LANGUAGES)}")
    with engine.writer.begin() as session:
        session.execute(update(User).where(User.username == username).values(language=language))
