"""Filling a database with stored cases: through ``Engine.start``, or by cloning real cases.

Cloning copies the rows of template cases that the real engine produced — one at each
stage of the benchmarked path, from "just started" to "completed" — with new instance
ids, new business numbers (continuing the day's counter) and new task UUIDs rewritten
consistently through the stored workflow state and the task, job and event rows. A clone
is therefore a case the engine can load and move on like any other (the benchmark checks
this), produced a hundred times faster than by running the engine.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy import Engine as SqlEngine

from bench.measure import complete_next, open_tasks, require_completed, start_case
from bench.scenario import MAX_COMPLETIONS_PER_CASE
from engine.runtime import Engine
from engine.store.models import BusinessNumberCounter, Event, Job, ProcessInstance, StateChange, Task
from engine.store.state_store import change_bodies, change_texts


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


INSTANCE = _table(ProcessInstance)
TASK = _table(Task)
JOB = _table(Job)
EVENT = _table(Event)
STATE_CHANGE = _table(StateChange)
COUNTER = _table(BusinessNumberCounter)
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def stored_instances(db: SqlEngine) -> int:
    """How many cases the database holds."""
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(INSTANCE)).scalar_one())


def start_cases(engine: Engine, count: int) -> float:
    """Start ``count`` cases through ``Engine.start``; return the seconds it took."""
    began = time.perf_counter()
    for _ in range(count):
        start_case(engine)
    return time.perf_counter() - began


def make_templates(engine: Engine) -> list[int]:
    """One real case at each stage of the path: 0, 1, 2 … tasks done, the last one completed."""
    templates: list[int] = []
    for stage in range(MAX_COMPLETIONS_PER_CASE):
        instance_id, _ = start_case(engine)
        for _ in range(stage):
            complete_next(engine, instance_id)
        templates.append(instance_id)
        if not open_tasks(engine, instance_id):
            require_completed(engine, instance_id)
            return templates
    raise RuntimeError("the path never ended")


def verify_clones(engine: Engine, clone_ids: Sequence[int], templates: int) -> None:
    """Prove clones are real cases: move the first clone of each open stage on by one task."""
    for instance_id in clone_ids[:templates]:
        if open_tasks(engine, instance_id) and complete_next(engine, instance_id) is None:
            raise RuntimeError(f"clone {instance_id} could not be moved on")


@dataclass(frozen=True)
class _Template:
    instance: dict[str, Any]
    task_ids: frozenset[str]
    tasks: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    events: list[dict[str, Any]]
    #: The changes saved after the snapshot: their numbers and texts.
    changes: list[dict[str, Any]]


def _task_ids_in_state(state: str, changes: Sequence[str] = ()) -> frozenset[str]:
    """Every task id of the stored workflow (its snapshot and the changes after it), its subprocesses included."""
    ids: set[str] = set()

    def collect(document: dict[str, Any]) -> None:
        ids.update(document.get("tasks", {}))
        for sub in (document.get("subprocesses") or {}).values():
            if isinstance(sub, dict):
                collect(sub.get("whole", sub))

    for text in (state, *changes):
        collect(json.loads(text))
    return frozenset(ids)


def _read_template(conn: Connection, instance_id: int) -> _Template:
    def rows(table: Table) -> list[dict[str, Any]]:
        result = conn.execute(select(table).where(table.c.instance_id == instance_id)).mappings()
        return [{k: v for k, v in row.items() if k != "id" or table is TASK} for row in result]

    instance = dict(conn.execute(select(INSTANCE).where(INSTANCE.c.id == instance_id)).mappings().one())
    del instance["id"]
    stored = conn.execute(
        select(STATE_CHANGE.c.seq, STATE_CHANGE.c.body)
        .where(STATE_CHANGE.c.instance_id == instance_id)
        .order_by(STATE_CHANGE.c.seq)
    ).all()
    texts = change_texts(instance["state"], [bytes(row.body) for row in stored])
    changes = [{"seq": row.seq, "text": text} for row, text in zip(stored, texts, strict=True)]
    task_ids = _task_ids_in_state(instance["state"], texts)
    return _Template(instance, task_ids, rows(TASK), rows(JOB), rows(EVENT), changes)


def _renamed(value: str | None, names: dict[str, str]) -> str | None:
    return names.get(value, value) if value else value


def _rename_uuids(text: str, names: dict[str, str]) -> str:
    """Replace every task id of the old case by the clone's in the state document."""

    def rename(match: re.Match[str]) -> str:
        return names.get(match[0], match[0])

    return UUID_PATTERN.sub(rename, text)


def _chunks(total: int, size: int) -> Iterator[range]:
    for first in range(0, total, size):
        yield range(first, min(first + size, total))


def clone_cases(db: SqlEngine, template_ids: Sequence[int], count: int, chunk: int = 1000) -> list[int]:
    """Insert ``count`` copies of the template cases (round robin); return the new instance ids."""
    with db.connect() as conn:
        templates = [_read_template(conn, i) for i in template_ids]
    prefix, day, _ = templates[0].instance["business_number"].rsplit("-", 2)
    new_ids: list[int] = []
    for numbers in _chunks(count, chunk):
        with db.begin() as conn:
            last = conn.execute(
                select(COUNTER.c.last)
                .where(COUNTER.c.prefix == prefix, COUNTER.c.day == day)
                .with_for_update()
            ).scalar_one()
            instances: list[dict[str, Any]] = []
            children: list[tuple[_Template, dict[str, str]]] = []
            for n in numbers:
                template = templates[n % len(templates)]
                names = {old: str(uuid.uuid4()) for old in template.task_ids}
                row = dict(template.instance)
                row["business_number"] = f"{prefix}-{day}-{last + 1 + len(instances):04d}"
                row["state"] = _rename_uuids(row["state"], names)
                instances.append(row)
                children.append((template, names))
            ids = list(
                conn.execute(
                    insert(INSTANCE).returning(INSTANCE.c.id, sort_by_parameter_order=True), instances
                ).scalars()
            )
            tasks: list[dict[str, Any]] = []
            jobs: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            changes: list[dict[str, Any]] = []
            for instance_id, row, (template, names) in zip(ids, instances, children, strict=True):
                renamed = [_rename_uuids(change["text"], names) for change in template.changes]
                bodies = change_bodies(row["state"], renamed)
                changes.extend(
                    {"instance_id": instance_id, "seq": change["seq"], "body": body}
                    for change, body in zip(template.changes, bodies, strict=True)
                )
                tasks.extend(dict(r, instance_id=instance_id, id=names[r["id"]]) for r in template.tasks)
                jobs.extend(
                    dict(r, instance_id=instance_id, task_id=_renamed(r["task_id"], names))
                    for r in template.jobs
                )
                events.extend(
                    dict(r, instance_id=instance_id, task_id=_renamed(r["task_id"], names))
                    for r in template.events
                )
            for table, batch in ((TASK, tasks), (JOB, jobs), (EVENT, events), (STATE_CHANGE, changes)):
                if batch:
                    conn.execute(insert(table), batch)
            conn.execute(
                update(COUNTER)
                .where(COUNTER.c.prefix == prefix, COUNTER.c.day == day)
                .values(last=last + len(instances))
            )
            new_ids.extend(ids)
    return new_ids
