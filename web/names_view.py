"""Processes, steps and people as every page names them: in the user's language, people by their names.

Task rows keep the name they were given (in the diagram's default language, or a ``title``
computed from the case); an English reader sees the step's English name instead, from the
deployed diagrams' ``name_en`` properties (``engine/definitions/names.py``), or the title
computed in English where the step carries ``title_en`` (``engine/store/task_titles.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, g
from sqlalchemy import select

from engine.store.models import User
from engine.store.task_titles import task_titles
from web import catalogue
from web.auth import engine
from web.i18n import current_lang


def labels() -> catalogue.Labels:
    """The deployed processes' labels, read once per request."""
    if "process_labels" not in g:
        with engine().sessions() as session:
            g.process_labels = catalogue.labels(engine(), session)
    found: catalogue.Labels = g.process_labels
    return found


def remember(read: catalogue.Labels) -> None:
    """Use labels a view has read already for the rest of the request (no second read)."""
    g.process_labels = read


def say(text: str) -> str:
    """A form's or a diagram's text in the company's words (产品 instead of 药品 for a device company)."""
    return labels().words.say(text) if text else text


def process_label(key: str | None, fallback: str = "") -> str:
    """A process's name in the user's language (``fallback``, its stored name, serves Chinese readers)."""
    if not key or (fallback and current_lang() != "en"):
        return fallback or (key or "")
    return labels().process(key, current_lang())


def load_titles(rows: Iterable[Any]) -> None:
    """Read, in one statement, the translated titles of the shown tasks whose step computes one.

    ``rows`` have ``id``, ``instance_id``, ``process_key`` and ``spec_id`` (inbox rows, tasks).
    """
    lang = current_lang()
    if lang == "zh":
        return
    titled = labels().titled_steps
    wanted = [
        (row.id, row.instance_id)
        for row in rows
        if lang in titled.get((row.process_key, row.spec_id), ()) and row.id not in _titles()
    ]
    if wanted:
        with engine().sessions() as session:
            found = task_titles(session, wanted, lang)
        _titles().update({task_id: found.get(task_id) for task_id, _case in wanted})


def _titles() -> dict[str, str | None]:
    if "task_titles" not in g:
        g.task_titles = {}
    found: dict[str, str | None] = g.task_titles
    return found


def _title(process_key: str, spec_id: str, task_id: str | None, instance_id: int | None) -> str | None:
    """A task's computed title in the user's language, when its step gives one in that language."""
    lang = current_lang()
    if (
        not task_id
        or instance_id is None
        or lang not in labels().titled_steps.get((process_key, spec_id), ())
    ):
        return None
    if task_id not in _titles():
        with engine().sessions() as session:
            _titles()[task_id] = task_titles(session, [(task_id, instance_id)], lang).get(task_id)
    return _titles()[task_id]


def step_label(
    process_key: str | None,
    spec_id: str | None,
    stored: str = "",
    task_id: str | None = None,
    instance_id: int | None = None,
) -> str:
    """A task's name in the user's language: its stored name (or title) unless the reader is English.

    With the task's id and case, a title computed from the case reads in the user's language
    when the diagram gives it one (``title_en``); otherwise English readers see the step's name.
    """
    if not process_key or not spec_id or current_lang() != "en":
        return say(stored or (spec_id or ""))
    title = _title(process_key, spec_id, task_id, instance_id)
    if title:
        return say(title)
    return say(
        labels().step(process_key, spec_id, "en")
        if (process_key, spec_id) in labels().step_names_en
        else stored
    )


def current_steps_label(process_key: str | None, names: str | None) -> str:
    """A case's current steps in the user's language."""
    if not process_key or current_lang() != "en":
        return say(names or "")
    return say(labels().steps_named(process_key, names, current_lang()))


def person(username: str | None) -> str:
    """A user shown by name (张工), never by user name; unknown user names are shown as they are."""
    if not username:
        return ""
    if "people" not in g:
        with engine().sessions() as session:
            g.people = dict(session.execute(select(User.username, User.display_name)).all())
    return str(g.people.get(username) or username)


def people(usernames: Any) -> str:
    """Several users by name, joined by commas."""
    return ", ".join(person(name) for name in usernames or ())


def install(app: Flask) -> None:
    """Offer the helpers to every template."""

    @app.context_processor
    def name_helpers() -> dict[str, Any]:
        return {
            "process_label": process_label,
            "step_label": step_label,
            "current_steps_label": current_steps_label,
            "person": person,
            "people": people,
        }
