"""Server time of the managers' case list and KPI dashboard with 10,000 cases.

    .venv/bin/python -m bench.cases [--cases 10000] [--generated 300] [--from-db PATH] [--runs 20]

Builds a fresh SQLite database (or copies ``--from-db``, a database ``afterflow demo-load``
filled), generates ``--generated`` real cases with ``processes.demo.load`` (real processes,
moving clock), then **bulk-clones** those cases with SQL — instance rows (serialized state
included, so rows are as wide as real ones), their tasks, audit events and SLA breaches, under
new ids and business numbers — until there are ``--cases``. Then it times pages through the
Flask test client, logged in as a supervisor, and prints median and p95 server time per page.

The KPI dashboard is timed as a manager meets it: the first view after an upgrade (the KPI read
model built for every case), the view after one real command (a supervisor reassigning a
technician task), after 100 cases changed (their versions bumped as 100 commands would), and
with nothing changed since the last view.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from engine import clock
from engine.accounts import users
from engine.accounts.users import Actor, create_user
from engine.definitions import collect_files
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.models import Event, ProcessInstance, SlaBreach, Task
from engine.store.schema import upgrade
from processes.demo.load import load_cases
from processes.demo.records import load_demo_records
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.kpis import facts as kpi_facts
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine

ROOT = Path(__file__).resolve().parent.parent
END = datetime.fromisoformat("2026-11-23T09:00:00+08:00")
SUPERVISOR = Actor("sup1", frozenset({"service_supervisor"}))
PAGES = (
    ("case list, first page", "/manage/cases", None),
    ("case list, late cases", "/manage/cases?status=late", None),
    ("case list, search by customer", "/manage/cases?q=%E5%8C%BB%E9%99%A2&page=3", None),
    ("case list, technician + breached", "/manage/cases?technician=tech1&breached=yes", None),
    ("KPI dashboard, first view (all cases)", "/manage/kpis", "rebuild"),
    ("KPI dashboard, after one command", "/manage/kpis", "one"),
    ("KPI dashboard, after 100 cases changed", "/manage/kpis", "hundred"),
    ("KPI dashboard, nothing changed", "/manage/kpis", None),
    ("complaint statistics", "/manage/complaints?month=2026-10", None),
)


def fresh_engine(path: Path) -> Engine:
    db = make_engine(f"sqlite:///{path}")
    upgrade(db)
    engine = build_engine(db)
    clock.freeze(END)
    try:
        files, problems = collect_files([ROOT / "diagrams"])
        assert not problems, problems
        engine.deploy(files, deployed_by="bench")
        one_hash = users.hash_password(DEMO_PASSWORD)
        with engine.writer.begin() as session:
            real, users.hash_password = users.hash_password, lambda _p: one_hash
            try:
                for username, display_name, roles in DEMO_USERS:
                    create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
            finally:
                users.hash_password = real
            load_demo_records(session)
    finally:
        clock.unfreeze()
    return engine


def clone_until(engine: Engine, target: int) -> int:
    """Copy the generated cases (with tasks, events, breaches) until there are ``target``; return how many."""
    with engine.writer.begin() as session:
        originals = list(
            session.execute(
                select(ProcessInstance.__table__).where(
                    ProcessInstance.status != "scheduled", ProcessInstance.parent_instance_id.is_(None)
                )
            ).mappings()
        )
        count = session.scalar(select(func.count(ProcessInstance.id))) or 0
        children = {
            row["parent_instance_id"]: row
            for row in session.execute(
                select(ProcessInstance.__table__).where(ProcessInstance.parent_instance_id.is_not(None))
            ).mappings()
        }
        tasks: dict[int, list[dict[str, Any]]] = {}
        for row in session.execute(select(Task.__table__)).mappings():
            tasks.setdefault(row["instance_id"], []).append(dict(row))
        events: dict[int, list[dict[str, Any]]] = {}
        for row in session.execute(select(Event.__table__)).mappings():
            if row["instance_id"] is not None:
                events.setdefault(row["instance_id"], []).append(dict(row))
        breaches: dict[int, list[dict[str, Any]]] = {}
        for row in session.execute(select(SlaBreach.__table__)).mappings():
            breaches.setdefault(row["instance_id"], []).append(dict(row))
        next_id = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
        copied = 0
        round_number = 0
        while count < target:
            round_number += 1
            shift = timedelta(days=(round_number % 5) * 7)  # spread the copies over other weeks
            for original in originals:
                if count >= target:
                    break
                family = [original] + ([children[original["id"]]] if original["id"] in children else [])
                parent_new: int | None = None
                for member in family:
                    new_id = next_id
                    next_id += 1
                    row = dict(member)
                    row["id"] = new_id
                    row["business_number"] = f"{member['business_number']}-C{round_number}"[:32]
                    row["parent_instance_id"] = parent_new if member is not original else None
                    for key in ("started_at", "updated_at", "ended_at", "due_at"):
                        if row[key] is not None:
                            row[key] = row[key] - shift
                    session.execute(insert(ProcessInstance.__table__).values(**row))
                    task_rows = []
                    for task in tasks.get(member["id"], []):
                        copy = dict(task, id=str(uuid.uuid4()), instance_id=new_id)
                        for key in ("created_at", "claimed_at", "completed_at", "due_at"):
                            if copy[key] is not None:
                                copy[key] = copy[key] - shift
                        task_rows.append(copy)
                    if task_rows:
                        session.execute(insert(Task.__table__), task_rows)
                    event_rows = [
                        {
                            **{k: v for k, v in e.items() if k != "id"},
                            "instance_id": new_id,
                            "at": e["at"] - shift,
                        }
                        for e in events.get(member["id"], [])
                    ]
                    if event_rows:
                        session.execute(insert(Event.__table__), event_rows)
                    breach_rows = [
                        {
                            **{k: v for k, v in b.items() if k != "id"},
                            "instance_id": new_id,
                            "due_at": b["due_at"] - shift,
                            "breached_at": b["breached_at"] - shift,
                        }
                        for b in breaches.get(member["id"], [])
                    ]
                    if breach_rows:
                        session.execute(insert(SlaBreach.__table__), breach_rows)
                    parent_new = new_id
                    count += 1
                    copied += 1
    return copied


class Changes:
    """What happens between two dashboard views: real commands, or many cases' versions moving on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rng = random.Random(2026)
        with engine.sessions() as session:
            self.ids = list(session.scalars(select(ProcessInstance.id)))
            self.task = session.scalar(
                select(Task.id)
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .where(Task.role == "technician", Task.state == "open", ProcessInstance.status == "running")
                .order_by(Task.instance_id)  # a generated case: the SQL clones are not live workflows
            )
        assert self.task is not None, "the generated cases leave a technician task open"
        self.turn = 0

    def __call__(self, kind: str | None) -> None:
        if kind == "rebuild":
            with self.engine.writer.begin() as session:
                kpi_facts.forget(session)
        elif kind == "one":
            self.turn += 1
            assert self.task is not None
            self.engine.assign(self.task, ("tech1", "tech2")[self.turn % 2], SUPERVISOR)
        elif kind == "hundred":
            with self.engine.writer.begin() as session:
                session.execute(
                    update(ProcessInstance)
                    .where(ProcessInstance.id.in_(self.rng.sample(self.ids, 100)))
                    .values(lock_version=ProcessInstance.lock_version + 1)
                )


def time_pages(engine: Engine, runs: int) -> list[tuple[str, float, float]]:
    from web.app import create_app
    from web.settings import Settings, load_settings

    base = load_settings()
    folder = Path(tempfile.mkdtemp(prefix="afterflow-bench-"))
    settings = Settings(
        database_url="sqlite://",
        secret_key="bench",
        instance_dir=folder,
        calendar=base.calendar,
        embedded_runner=False,
    )
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "AFTERFLOW_ENGINE": engine}, settings)
    client = app.test_client()
    assert client.post("/login", data={"username": "sup1", "password": DEMO_PASSWORD}).status_code == 302
    change = Changes(engine)
    results = []
    for label, url, kind in PAGES:
        client.get(url)  # warm the caches (templates, definitions)
        samples = []
        for _ in range(runs):
            change(kind)
            began = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        samples.sort()
        p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
        results.append((label, statistics.median(samples), p95))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--generated", type=int, default=300)
    parser.add_argument("--from-db", type=Path, default=None, help="a SQLite file demo-load filled")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="afterflow-bench-cases-"))
    path = folder / "cases.db"
    timings: dict[str, float] = {}
    if args.from_db:
        shutil.copy(args.from_db, path)
        db = make_engine(f"sqlite:///{path}")
        upgrade(db)
        engine = build_engine(db)
    else:
        engine = fresh_engine(path)
        began = time.perf_counter()
        report = load_cases(engine, args.generated, seed=2026, end=END, days=150)
        timings["generate"] = time.perf_counter() - began
        print("\n".join(report.lines()))
    with engine.sessions() as session:
        generated = session.scalar(select(func.count(ProcessInstance.id))) or 0
    began = time.perf_counter()
    copied = clone_until(engine, args.cases)
    timings["clone"] = time.perf_counter() - began
    with engine.sessions() as session:
        total = session.scalar(select(func.count(ProcessInstance.id))) or 0
        events = session.scalar(select(func.count(Event.id))) or 0
        tasks = session.scalar(select(func.count(Task.id))) or 0
    print(
        f"{generated} generated cases, {copied} cloned by SQL: {total} cases, {tasks} tasks, {events} events"
        f" (clone {timings['clone']:.1f} s)"
    )
    show: Callable[[str], None] = print
    show(f"{'page':<40} {'median ms':>10} {'p95 ms':>10}")
    for label, median, p95 in time_pages(engine, args.runs):
        show(f"{label:<40} {median:>10.1f} {p95:>10.1f}")


if __name__ == "__main__":
    main()
