"""Two web processes and two ``afterflow worker`` processes on one PostgreSQL database.

Cases are started and worked through the REST API of both web processes at once; the
completions arm a two-second timer that the workers fire. Every request is answered, every
timer fires exactly once. Then one web process and one worker are killed with SIGKILL in the
middle of the load: everything either of them acknowledged is in the database, and the
surviving worker still fires every timer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from engine.accounts.access_tokens import issue_token
from engine.accounts.users import create_user
from engine.definitions import collect_files
from engine.store.models import Event, Job, ProcessInstance, Task
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from tests.integration.ops_support import url_of
from tests.integration.test_runtime import FIXTURES

#: Several processes share a PostgreSQL database; SQLite serves one.
pytestmark = pytest.mark.databases("postgresql")

ROOT = Path(__file__).resolve().parents[2]
AFTERFLOW = Path(sys.executable).parent / "afterflow"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Api:
    """A client of one web process, with a personal token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status in (200, 201), response.status
            return json.loads(response.read())

    def work_one_case(self, name: str) -> tuple[int, str]:
        """Start a case and complete its first task; return (case id, completed task id)."""
        started = self.call(
            "POST",
            "/api/v1/cases",
            {"process_key": "mini", "data": {"customer_name": name, "owner": "sup1", "divisor": 2}},
        )
        case = self.call("GET", f"/api/v1/cases/{started['id']}")
        task_id = next(t["id"] for t in case["tasks"] if t["state"] == "open")
        self.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": {"amount": 3}})
        return started["id"], task_id


@pytest.fixture
def cluster(db: SqlEngine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    engine = build_engine(db)
    files, problems = collect_files([FIXTURES])
    assert not problems
    wanted = {"mini.bpmn", "mini_first.form.json", "mini_start.form.json"}
    files = {name: text for name, text in files.items() if name in wanted}
    files["mini.bpmn"] = files["mini.bpmn"].replace("hours(2)", "hours(2 / 3600)")  # due in two seconds
    engine.deploy(files, deployed_by="owner1")
    with engine.writer.begin() as session:
        create_user(session, "cs1", "pw-cs1-long", ["customer_service"], ROLE_KEYS)
        create_user(session, "sup1", "pw-sup1-long", ["service_supervisor"], ROLE_KEYS)
        token = issue_token(session, "cs1", "load").secret
    base_env = {
        **os.environ,
        "DATABASE_URL": url_of(db),
        "SECRET_KEY": "s" * 40,
        "AFTERFLOW_EMBEDDED_RUNNER": "0",
        "AFTERFLOW_SCRIPT_PROCESSES": "0",
        "AFTERFLOW_RUNNER_LEASE": "3",
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    apis = []
    for n in (1, 2):
        port = _free_port()
        env = {**base_env, "AFTERFLOW_INSTANCE_DIR": str(tmp_path / f"web{n}")}
        processes[f"web{n}"] = subprocess.Popen(
            [str(AFTERFLOW), "run", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # gunicorn's master and its worker are stopped together
        )
        apis.append(Api(f"http://127.0.0.1:{port}", token))
        env = {**base_env, "AFTERFLOW_INSTANCE_DIR": str(tmp_path / f"worker{n}")}
        processes[f"worker{n}"] = subprocess.Popen(
            [str(AFTERFLOW), "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        for api in apis:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(api.base + "/healthz", timeout=30).read()
                    break
                except OSError:  # not listening yet, or its worker still booting
                    assert time.monotonic() < deadline, f"{api.base} did not answer"
                    time.sleep(0.3)
        yield {"db": db, "apis": apis, "processes": processes}
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def _fired_per_case(db: SqlEngine, ids: list[int]) -> dict[int, int]:
    with db.connect() as conn:
        rows = conn.execute(
            select(Event.instance_id, func.count())
            .where(Event.action == "timer_fired", Event.instance_id.in_(ids))
            .group_by(Event.instance_id)
        ).all()
    return {instance_id: count for instance_id, count in rows}


def _wait_for_timers(db: SqlEngine, ids: list[int], seconds: float = 60) -> dict[int, int]:
    deadline = time.monotonic() + seconds
    while True:
        fired = _fired_per_case(db, ids)
        if len(fired) == len(ids) or time.monotonic() > deadline:
            return fired
        time.sleep(0.3)


def test_two_web_processes_and_two_workers_answer_every_request_and_fire_every_timer_once(
    cluster: dict[str, Any],
) -> None:
    db, apis = cluster["db"], cluster["apis"]
    done: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            for k in range(6):
                done.append(apis[(n + k) % 2].work_one_case(f"客户 {n}-{k}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    ids = [case_id for case_id, _ in done]
    assert len(set(ids)) == 24
    fired = _wait_for_timers(db, ids)
    assert fired == {case_id: 1 for case_id in ids}  # every timer, each once
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).where(Job.instance_id.in_(ids), Job.done_at.is_(None))) == 0
        escalations = conn.scalar(
            select(func.count()).where(Task.instance_id.in_(ids), Task.spec_id == "task_escalate")
        )
        numbers = conn.scalars(select(ProcessInstance.business_number).where(ProcessInstance.id.in_(ids)))
        assert len(set(numbers)) == 24
    assert escalations == 24


def test_killing_a_web_process_and_a_worker_mid_load_loses_nothing_they_acknowledged(
    cluster: dict[str, Any],
) -> None:
    db, apis, processes = cluster["db"], cluster["apis"], cluster["processes"]
    acknowledged: list[tuple[int, str]] = []
    stop = threading.Event()

    def client(api: Api, n: int) -> None:
        k = 0
        while not stop.is_set():
            k += 1
            try:
                acknowledged.append(api.work_one_case(f"客户 {n}-{k}"))
            except (urllib.error.URLError, OSError, http.client.HTTPException):
                # A refused connection, or an answer cut off by the kill (IncompleteRead).
                if api is apis[0]:
                    return  # its server is gone: what it had not answered was never acknowledged
                raise

    threads = [threading.Thread(target=client, args=(apis[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    os.killpg(processes["web1"].pid, signal.SIGKILL)
    processes["worker1"].send_signal(signal.SIGKILL)
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(120)
    assert acknowledged, "no case was worked before the kill"
    ids = [case_id for case_id, _ in acknowledged]
    with db.connect() as conn:
        completed = set(
            conn.scalars(
                select(Task.id).where(Task.id.in_([t for _, t in acknowledged]), Task.state == "completed")
            )
        )
    assert completed == {task_id for _, task_id in acknowledged}
    # The surviving worker fires every timer those completions armed, each once (a lease the
    # killed worker held runs out after AFTERFLOW_RUNNER_LEASE seconds).
    assert _wait_for_timers(db, ids) == {case_id: 1 for case_id in ids}
