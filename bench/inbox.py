"""Staff inbox speed with 20,000 open tasks: ``python -m bench.inbox``.

The bench fills a fresh database — a SQLite file in a temporary folder and, when
``DATABASE_URL`` names a PostgreSQL server, the database ``afterflow_inbox_bench`` on that
server (created anew, dropped at the end) — with the deployed diagrams, demo-like users and
``--tasks`` open human tasks spread over roles, users, processes and due times, plus two
completed tasks per case as history. The rows go straight into the projection tables
(``process_instance`` and ``task``) by bulk insert; each case carries the serialized state of
a real case of its process, so rows are as wide as real ones.

It then times, for the customer-service user ``cs1``, each inbox tab with and without
filters: the read model alone (``engine.store.queries``: tab counts and the page) and the whole page
rendered by the Flask test client (server time: request in, HTML out). Each figure is the
median and the 95th percentile of ``--requests`` runs after a warm-up. The target is under
200 ms per page.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import insert, select, text

from bench.databases import postgresql_database
from engine.accounts.users import Actor, create_user, hash_password
from engine.calendar import CalendarConfig
from engine.definitions import collect_files
from engine.runtime import Engine
from engine.store import queries
from engine.store.database import make_engine
from engine.store.models import ProcessDefinition, ProcessInstance, Task
from engine.store.schema import upgrade
from engine.store.state_store import state_text
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench"
USER = "cs1"

#: How the open tasks spread over roles (weights), and how many users hold each role.
ROLE_WEIGHTS = {
    "customer_service": 30,
    "service_supervisor": 15,
    "technician": 25,
    "sales": 8,
    "quality": 6,
    "accountant": 5,
    "warehouse": 4,
    "general_manager": 2,
    "finance": 3,
    "business_manager": 2,
}
USERS_PER_ROLE = 10
#: Share of open tasks already claimed by (or assigned to) a user of their role.
ASSIGNED_SHARE = 0.3
CUSTOMERS = (
    "华东精密机械有限公司",
    "北方重工集团",
    "南方医疗器械有限公司",
    "西部电子科技",
    "Acme Trading Ltd.",
)
PRODUCTS = ("HX-200 数控机床", "LX-80 激光切割机", "MZ-5 检测仪", "PT-300 包装线")


@dataclass(frozen=True)
class Case:
    """Which process a bench case belongs to and what it looks like."""

    definition_id: int
    process_key: str
    prefix: str
    state: str
    steps: list[tuple[str, str, str | None]]  # (spec id, task name, role)
    urgencies: list[str]


@dataclass(frozen=True)
class Timing:
    """One measured line of the result table."""

    database: str
    what: str
    tab: str
    filters: str
    median_ms: float
    p95_ms: float
    cpu_ms: float
    rows: int


# --- databases --------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[SqlEngine]:
    """A fresh SQLite file (WAL, as in production) at the current schema."""
    with tempfile.TemporaryDirectory(prefix="afterflow-inbox-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'inbox.db'}")
        try:
            upgrade(db)
            yield db
        finally:
            db.dispose()


# --- filling ------------------------------------------------------------------------------------


def create_users(engine: Engine) -> dict[str, list[str]]:
    """Create ``USERS_PER_ROLE`` users per role (cs1… for customer service); return them by role."""
    prefixes = {"customer_service": "cs", "service_supervisor": "sup", "technician": "tech"}
    hashed = hash_password(PASSWORD)
    by_role: dict[str, list[str]] = {}
    with engine.writer.begin() as session:
        for role in ROLE_WEIGHTS:
            names = [f"{prefixes.get(role, role)}{n}" for n in range(1, USERS_PER_ROLE + 1)]
            for name in names:
                user = create_user(session, name, PASSWORD, [role], ROLE_KEYS, name)
                user.password_hash = hashed
            by_role[role] = names
        create_user(session, "admin", PASSWORD, ["admin"], ROLE_KEYS, "admin").password_hash = hashed
    return by_role


def case_templates(engine: Engine) -> list[Case]:
    """One template per deployed process: a real case's state, its human steps and urgencies."""
    templates: list[Case] = []
    with engine.sessions() as session:
        definitions = list(session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.id)))
    for definition in definitions:
        tasks = definition.meta.get("tasks", {})
        lanes = definition.meta.get("lanes", {})
        steps = [
            (
                spec_id,
                definition.meta["elements"].get(spec_id, spec_id),
                info.get("role") or lanes.get(spec_id),
            )
            for spec_id, info in tasks.items()
        ]
        steps = [step for step in steps if step[2] in ROLE_WEIGHTS]
        if not steps:
            continue
        urgencies: list[str] = []
        for raw in definition.meta.get("forms", {}).values():
            for component in raw.get("components", []):
                if component.get("key") in ("urgency", "priority", "severity", "level"):
                    urgencies = [str(v["value"]) for v in component.get("values", [])]
        templates.append(
            Case(
                definition.id,
                definition.process_key,
                definition.meta["process"]["prefix"],
                _real_state(engine, definition),
                steps,
                urgencies or ["normal"],
            )
        )
    return templates


def _real_state(engine: Engine, definition: ProcessDefinition) -> str:
    """The stored state of a real case of this process (started with its start form's example data)."""
    with engine.sessions() as session:
        instance = session.scalar(
            select(ProcessInstance)
            .where(ProcessInstance.definition_id == definition.id)
            .order_by(ProcessInstance.id.desc())
            .limit(1)
        )
        state = state_text(session, instance) if instance is not None else None
    # A process nobody could start here (a timer start, say) gets a state of the repair case's size.
    return state or "x" * 12_000


def start_example_cases(engine: Engine) -> None:
    """Start one real repair case so the templates carry a real workflow state."""
    example = {
        "channel": "phone",
        "customer_name": CUSTOMERS[0],
        "customer_phone": "021-5555-0101",
        "customer_address": "上海市浦东新区张江路 88 号",
        "product_model": PRODUCTS[0],
        "serial_number": "SN-0001",
        "fault_description": "主轴异响，无法启动。",
        "urgency": "normal",
        "distance_band": "urban",
        "contract_in_force": "true",
        "cause": "normal",
    }
    engine.start("repair_service", example, Actor("cs1", frozenset({"customer_service"})))


def fill(
    db: SqlEngine, templates: list[Case], users: dict[str, list[str]], open_tasks: int, seed: int = 4
) -> None:
    """Bulk-insert ``open_tasks`` running cases, each with one open task and two completed ones."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    roles = list(ROLE_WEIGHTS)
    weights = [ROLE_WEIGHTS[r] for r in roles]
    by_role = {
        role: [(case, step) for case in templates for step in case.steps if step[2] == role] for role in roles
    }
    with db.begin() as conn:
        first_id = int(
            conn.execute(
                select(text("coalesce(max(id), 0)")).select_from(text("process_instance"))
            ).scalar_one()
        )
    batch = 2_000
    for start in range(0, open_tasks, batch):
        instances: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        for n in range(start, min(start + batch, open_tasks)):
            instance_id = first_id + n + 1
            role = rng.choices(roles, weights)[0]
            case, (spec_id, name, _role) = rng.choice(by_role[role] or by_role["customer_service"])
            started = now - timedelta(days=rng.uniform(0, 30))
            due = _due_time(rng, now)
            instances.append(
                {
                    "id": instance_id,
                    "business_number": f"{case.prefix}-{started:%Y%m%d}-{n + 1:05d}",
                    "definition_id": case.definition_id,
                    "process_key": case.process_key,
                    "status": "running",
                    "state": case.state,
                    "lock_version": 3,
                    "started_by": rng.choice(users["customer_service"]),
                    "started_at": started,
                    "updated_at": started,
                    "customer_name": f"{rng.choice(CUSTOMERS)} {n % 997}",
                    "product": rng.choice(PRODUCTS),
                    "priority": rng.choice(case.urgencies),
                    "current_step": name,
                    "due_at": due,
                    "late": False,
                }
            )
            assignee = rng.choice(users[role]) if rng.random() < ASSIGNED_SHARE else None
            tasks.append(_task(instance_id, spec_id, name, role, "open", started, due, assignee, None))
            for back in (2, 1):  # the case's history: two earlier steps, done by people of their roles
                done_role = rng.choice(roles)
                _case, (done_spec, done_name, _r) = rng.choice(by_role[done_role] or by_role[role])
                done_by = rng.choice(users[done_role])
                done_at = started + timedelta(hours=back)
                tasks.append(
                    _task(
                        instance_id,
                        done_spec,
                        done_name,
                        done_role,
                        "completed",
                        started,
                        done_at,
                        done_by,
                        done_at,
                    )
                )
        with db.begin() as conn:
            conn.execute(insert(ProcessInstance.__table__), instances)
            conn.execute(insert(Task.__table__), tasks)
    if db.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load. SQLite gets no ANALYZE: afterflow
        # does not run one, so the planner works without statistics there, as it will in use.
        with db.begin() as conn:
            conn.execute(text("ANALYZE"))


def _due_time(rng: random.Random, now: datetime) -> datetime | None:
    pick = rng.random()
    if pick < 0.1:
        return None
    if pick < 0.3:
        return now - timedelta(hours=rng.uniform(1, 200))  # late
    if pick < 0.45:
        return now + timedelta(hours=rng.uniform(0, 8))  # due today, mostly
    return now + timedelta(hours=rng.uniform(8, 400))


def _task(
    instance_id: int,
    spec_id: str,
    name: str,
    role: str,
    state: str,
    created: datetime,
    due: datetime | None,
    person: str | None,
    completed_at: datetime | None,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "instance_id": instance_id,
        "spec_id": spec_id,
        "name": name,
        "role": role,
        "form_key": None,
        "assignee": person,
        "state": state,
        "created_at": created,
        "claimed_at": created if person else None,
        "completed_at": completed_at,
        "completed_by": person if state == "completed" else None,
        "due_at": due,
        "draft": None,
    }


# --- measuring ------------------------------------------------------------------------------------


def measure(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Run ``action`` ``runs`` times after two warm-ups; return median and p95 wall time and median CPU time (ms).

    The CPU time is this process's: on SQLite that is all the work of a request (the database
    runs in-process), so it shows what a request costs when the machine is busy with other work.
    """
    for _ in range(2):
        action()
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, statistics.median(cpu)


def scenarios() -> list[tuple[str, dict[str, str]]]:
    """The inbox requests timed: each tab plain, then with the filters a clerk uses."""
    process, step, urgency = "repair_service", "task_remote_guidance", "emergency"
    return [
        ("mine", {}),
        ("offered", {}),
        ("done", {}),
        ("mine", {"overdue": "1"}),
        ("offered", {"process": process, "step": step}),
        ("offered", {"urgency": urgency, "overdue": "1"}),
        ("offered", {"order": "desc", "page": "40"}),
        ("offered", {"q": "北方"}),
        ("offered", {"q": "00042"}),
        ("done", {"q": "南方", "order": "asc"}),
    ]


def query_of(tab: str, args: dict[str, str]) -> queries.InboxQuery:
    """The read-model query a set of inbox URL arguments stands for."""
    return queries.InboxQuery(
        tab=tab,
        process=args.get("process"),
        step=args.get("step"),
        priority=args.get("urgency"),
        overdue=args.get("overdue") == "1",
        search=args.get("q", ""),
        order=args.get("order", ""),
        page=int(args.get("page", "1")),
    )


def time_database(name: str, db: SqlEngine, open_tasks: int, runs: int) -> list[Timing]:
    """Fill one database and time the inbox on it."""
    engine = build_engine(db)
    files, problems = collect_files([ROOT / "diagrams"])
    if problems:
        raise SystemExit(f"the diagrams have problems: {problems}")
    engine.deploy(files, deployed_by="bench")
    users = create_users(engine)
    start_example_cases(engine)
    began = time.perf_counter()
    fill(db, case_templates(engine), users, open_tasks)
    print(f"{name}: filled {open_tasks:,} open tasks in {time.perf_counter() - began:.1f} s")

    actor = Actor(USER, frozenset({"customer_service"}))
    supervisor = Actor("sup1", frozenset({"service_supervisor"}))
    with engine.sessions() as session:
        now = datetime.now(UTC)
        for who in (actor, supervisor):
            counts = queries.inbox_counts(session, who, now, sees_all=who is supervisor)
            print(
                f"{name}: {who.username} sees "
                + ", ".join(
                    f"{tab} {count.total:,} ({count.overdue:,} late)" for tab, count in counts.items()
                )
            )
    timings: list[Timing] = []
    app = _app(engine)
    clients = {}
    for who in (actor, supervisor):
        clients[who.username] = app.test_client()
        response = clients[who.username].post("/login", data={"username": who.username, "password": PASSWORD})
        assert response.status_code == 302, f"{who.username} could not log in"
    requests = [(actor, tab, args) for tab, args in scenarios()]
    requests += [(supervisor, "team", {}), (supervisor, "team", {"overdue": "1", "q": "西部"})]
    for who, tab, args in requests:
        everything = who is supervisor
        client = clients[who.username]
        label = " ".join(f"{k}={v}" for k, v in args.items()) or "—"
        query = query_of(tab, args)

        def read_model(
            query: queries.InboxQuery = query, who: Actor = who, everything: bool = everything
        ) -> int:
            with engine.sessions() as session:
                now = datetime.now(UTC)
                queries.inbox_counts(session, who, now, everything)
                return len(queries.inbox(session, who, query, now, everything).rows)

        rows = read_model()
        median, p95, cpu = measure(read_model, runs)
        timings.append(Timing(name, "queries", f"{who.username} {tab}", label, median, p95, cpu, rows))

        def page(tab: str = tab, args: dict[str, str] = args, client: Any = client) -> None:
            response = client.get("/", query_string={"tab": tab, **args})
            assert response.status_code == 200, response.status_code

        median, p95, cpu = measure(page, runs)
        timings.append(Timing(name, "page", f"{who.username} {tab}", label, median, p95, cpu, rows))

        def fragment(tab: str = tab, args: dict[str, str] = args, client: Any = client) -> None:
            response = client.get(
                "/",
                query_string={"tab": tab, **args},
                headers={"HX-Request": "true", "HX-Target": "inbox-results"},
            )
            assert response.status_code == 200, response.status_code

        if args:  # what htmx fetches when a filter changes: the table alone
            median, p95, cpu = measure(fragment, runs)
            timings.append(Timing(name, "htmx table", f"{who.username} {tab}", label, median, p95, cpu, rows))

    client = clients[USER]

    def poll() -> None:
        response = client.get(
            "/inbox/status", query_string={"tab": "offered", "since": datetime.now(UTC).isoformat()}
        )
        assert response.status_code == 200, response.status_code

    median, p95, cpu = measure(poll, runs)
    timings.append(Timing(name, "poll", f"{USER} status", "counts + new", median, p95, cpu, 0))
    heartbeat = app.extensions["afterflow_heartbeat"]
    heartbeat.stop()  # give the lease back while the scratch database is still there
    atexit.unregister(heartbeat.stop)
    engine.db.dispose()
    return timings


def _app(engine: Engine) -> Any:
    from web.app import create_app
    from web.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="afterflow-inbox-app-"))
    settings = Settings(
        database_url=str(engine.db.url),
        secret_key="bench",
        instance_dir=folder,
        calendar=CalendarConfig(),
        embedded_runner=False,
    )
    return create_app({"AFTERFLOW_ENGINE": engine, "WTF_CSRF_ENABLED": False}, settings)


def print_table(timings: list[Timing]) -> None:
    """Print the figures as a Markdown table."""
    print()
    print("| database | measured | tab | filters | rows | median ms | p95 ms | CPU ms (median) |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for t in timings:
        print(
            f"| {t.database} | {t.what} | {t.tab} | {t.filters} | {t.rows} | {t.median_ms:.1f} | {t.p95_ms:.1f} "
            f"| {t.cpu_ms:.1f} |"
        )
    worst = max((t.p95_ms for t in timings if t.what == "page"), default=0.0)
    print()
    print(f"slowest page p95: {worst:.1f} ms (target: under 200 ms)")


def main(argv: list[str] | None = None) -> None:
    """Fill the databases and print the inbox figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="open tasks to fill in (default 20,000)")
    parser.add_argument("--requests", type=int, default=50, help="timed runs per figure (default 50)")
    parser.add_argument(
        "--sqlite-only", action="store_true", help="skip PostgreSQL even if DATABASE_URL is set"
    )
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    )
    timings: list[Timing] = []
    with sqlite_database() as db:
        timings += time_database("SQLite", db, args.tasks, args.requests)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql") and not args.sqlite_only:
        with postgresql_database(url, "inbox") as db:
            with db.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar_one()
            timings += time_database(f"PostgreSQL {version}", db, args.tasks, args.requests)
    print_table(timings)


if __name__ == "__main__":
    main()
