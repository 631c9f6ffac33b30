"""The deployed library's supporting files: decision tables and forms a new diagram may use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.store.models import User

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def with_library_files(runtime: Engine, files: Mapping[str, str]) -> dict[str, str]:
    """Add the newest decision tables and forms the given files do not bring themselves.

    A diagram calls decisions and forms by id; a file deployed alone (or an editor holding one
    process) finds the deployed ones, just as the deployed versions hold them.
    """
    merged: dict[str, str] = {}
    with runtime.sessions() as db:
        for definition in runtime.latest_definitions(db):
            for name, text in runtime.definitions.files(definition).items():
                if not name.endswith(".bpmn"):
                    merged.setdefault(name, text)
    merged.update(files)
    return merged


def user_names(runtime: Engine) -> set[str]:
    """The names of the active users, whom an imported diagram's task may be assigned to."""
    with runtime.sessions() as db:
        return set(db.scalars(select(User.username).where(User.active.is_(True))))
