"""Tasks' titles in other languages, as the projection kept them on each task's ``task_created`` event.

A task whose name is computed from the case (the diagram's ``title``) may carry the expression
in other languages too (``title_<lang>``, engine/definitions/names.py); the computed texts are
stored with the event that opened the task. Pages read them for the tasks they show, in one
statement over the events of those tasks' cases (the ``ix_event_instance_action`` index).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Event


def task_titles(session: Session, tasks: Iterable[tuple[str, int]], lang: str) -> dict[str, str]:
    """The titles in ``lang`` of these tasks (``(task id, instance id)`` pairs) that have one."""
    wanted = dict(tasks)
    if not wanted:
        return {}
    rows = session.execute(
        select(Event.task_id, Event.data).where(
            Event.instance_id.in_(set(wanted.values())),
            Event.action == "task_created",
            Event.task_id.in_(list(wanted)),
        )
    )
    found: dict[str, str] = {}
    for task_id, data in rows:
        titles = (data or {}).get("titles") if isinstance(data, dict) else None
        title = titles.get(lang) if isinstance(titles, dict) else None
        if task_id and isinstance(title, str) and title:
            found[task_id] = title
    return found
