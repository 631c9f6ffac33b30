"""Each process keeps the workflows it saved; a case moved by another process is always restored afresh.

Two real processes, each with its own engine and cache, take turns on one case. A process
that reused the workflow it kept before the other one moved the case would save that old
state back (a claim does not look at the workflow) or refuse a task the other opened: the
stored state and the cache's own hit/miss count show that neither happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Engine as SqlEngine

from engine.errors import FormInvalid
from engine.runtime import Engine
from engine.runtime.workflow_cache import Baseline, WorkflowCache, keepable, round_trips
from tests.conftest import ROOT
from tests.integration.test_runtime import (
    CS,
    FlakyLedger,
    instance,
    only_open_task,
    start_mini,
    stored_workflow,
)
from tests.integration.test_runtime import runtime as runtime_fixture
from tests.scenarios.conftest import add_product
from tests.scenarios.test_repair import dispatch_and_arrive, not_solved_by_phone, register

#: A process serving engine commands read as JSON lines from stdin, answering one JSON line each.
CHILD = """
import json, sys
from engine.accounts.users import Actor
from engine.store.database import make_engine
from processes.wiring import build_engine

engine = build_engine(make_engine(sys.argv[1]))
for line in sys.stdin:
    order = json.loads(line)
    who = Actor(order["user"], frozenset(order["roles"]))
    try:
        if order["op"] == "complete":
            engine.complete(order["task"], order.get("data", {}), who)
        else:
            getattr(engine, order["op"])(order["task"], who)
        answer = {"ok": True}
    except Exception as error:
        answer = {"ok": False, "error": type(error).__name__}
    answer.update(hits=engine.workflows.hits, misses=engine.workflows.misses)
    print(json.dumps(answer), flush=True)
"""


class Holder:
    """Just what the cache's data checks read of a workflow: its data, tasks and subprocesses."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.tasks: dict[str, Any] = {}
        self.subprocesses: dict[str, Any] = {}


class Worker:
    """One process with its own engine, driven command by command."""

    def __init__(self, url: str) -> None:
        env = {**os.environ, "AFTERFLOW_SCRIPT_PROCESSES": "0", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.hits = self.misses = 0

    def do(self, op: str, task: str, user: str, role: str, **data: Any) -> tuple[bool, str]:
        """Run one command; return (succeeded, 'hit'|'miss' for the workflow it worked on)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        order = {"op": op, "task": task, "user": user, "roles": [role], "data": data}
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        used = "hit" if answer["hits"] > self.hits else "miss"
        self.hits, self.misses = answer["hits"], answer["misses"]
        return answer["ok"], used if answer["ok"] else answer["error"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


@pytest.fixture
def runtime(db: SqlEngine) -> Iterator[Engine]:
    """The runtime tests' engine: the test fixtures deployed, their users created, the clock frozen."""
    yield from runtime_fixture.__wrapped__(db, FlakyLedger())  # type: ignore[attr-defined]


@pytest.fixture
def workers(db: SqlEngine) -> Iterator[tuple[Worker, Worker]]:
    url = db.url.render_as_string(hide_password=False)
    pair = (Worker(url), Worker(url))
    yield pair
    for worker in pair:
        worker.close()


def test_two_processes_taking_turns_on_one_case_never_use_a_stale_workflow(
    runtime: Engine, workers: tuple[Worker, Worker]
) -> None:
    a, b = workers
    instance_id = start_mini(runtime, owner="")
    first = only_open_task(runtime, instance_id, "task_first").id

    assert a.do("claim", first, "cs1", "customer_service") == (True, "miss")
    assert a.do("unclaim", first, "cs1", "customer_service") == (True, "hit")  # nobody moved the case
    assert b.do("complete", first, "cs1", "customer_service", amount="1") == (True, "miss")
    second = only_open_task(runtime, instance_id, "task_second").id
    # A kept the case as it was before B completed the first task: it must restore it afresh.
    assert a.do("claim", second, "sup1", "service_supervisor") == (True, "miss")
    workflow = stored_workflow(runtime, instance_id)
    # A did not write its old state back: the first task is still done in the stored state.
    assert [t.state for t in workflow.get_tasks() if t.task_spec.name == "task_first"] == [
        TaskState.COMPLETED
    ]
    assert a.do("complete", second, "sup1", "service_supervisor") == (True, "hit")
    assert instance(runtime, instance_id).status == "completed"
    # B still keeps the case as it left it; the case has moved on twice since.
    assert b.do("claim", second, "sup1", "service_supervisor") == (False, "TaskAlreadyCompleted")


def test_a_refused_command_leaves_nothing_in_the_cache(runtime: Engine) -> None:
    instance_id = start_mini(runtime)
    first = only_open_task(runtime, instance_id, "task_first").id
    hits = runtime.workflows.hits
    with pytest.raises(FormInvalid):
        runtime.complete(first, {"amount": "-3"}, CS)  # refused by the form: the case is unchanged
    assert runtime.workflows.hits == hits + 1
    misses = runtime.workflows.misses
    runtime.complete(first, {"amount": "2"}, CS)
    assert runtime.workflows.misses == misses + 1  # restored from the row, not the refused command's copy
    assert only_open_task(runtime, instance_id, "task_second")


def test_data_that_json_would_change_is_not_kept() -> None:
    shared: list[int] = [1]
    assert round_trips(Holder({"a": [1, {"b": "x"}], "when": None}))  # type: ignore[arg-type]
    assert not round_trips(Holder({"a": (1, 2)}))  # type: ignore[arg-type]  # a tuple comes back a list
    assert not round_trips(Holder({"a": {1: "x"}}))  # type: ignore[arg-type]  # an integer key comes back text
    assert not round_trips(Holder({"a": shared, "b": shared}))  # type: ignore[arg-type]  # shared comes back apart
    cache = WorkflowCache(size=1)
    baseline = Baseline({None: {}}, 10, 0, 0, b"")
    cache.keep(1, 2, 3, 7, Holder({"a": 1}), baseline)  # type: ignore[arg-type]
    cache.keep(2, 2, 3, 7, Holder({"a": 1}), baseline)  # type: ignore[arg-type]
    assert cache.take(1, 2, 3, 7) is None  # the oldest case left when the cache was full
    assert cache.take(2, 2, 3, 8) is None  # the same lock version with another state save
    assert cache.take(2, 2, 3, 7) is None  # a take hands the workflow over once


def containers(value: Any) -> list[int]:
    """The ids of every list and dict inside ``value`` (``value`` included), once per holding."""
    if type(value) is dict:
        return [id(value), *(i for item in value.values() for i in containers(item))]
    if type(value) is list:
        return [id(value), *(i for item in value for i in containers(item))]
    return []


def test_data_held_twice_is_given_copies_as_a_restore_would_and_kept() -> None:
    inner = {"x": [1, "二"]}
    shared = {"p": inner, "q": [inner, inner]}
    holder = Holder({"archive": shared, "product": shared, "n": 1})
    before = json.dumps(holder.data, ensure_ascii=False)
    assert not round_trips(holder)  # type: ignore[arg-type]
    assert keepable(holder)  # type: ignore[arg-type]
    assert json.dumps(holder.data, ensure_ascii=False) == before  # the same values ...
    held = containers(holder.data)
    assert len(held) == len(set(held)) == 17  # ... each list and dict held once, as restored
    twice: list[int] = [3]
    tupled = Holder({"a": (1, 2), "b": twice, "c": twice})
    assert not keepable(tupled)  # type: ignore[arg-type]  # a tuple still comes back a list ...
    assert (
        tupled.data["b"] == tupled.data["c"] and tupled.data["b"] is not tupled.data["c"]
    )  # ... though unshared


def test_a_repair_case_whose_script_names_one_dict_twice_stays_kept(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001", warranty_end=date(2027, 6, 30))
    case = register(engine)  # the archive lookup's script says ``archive = product``
    (guidance,) = stored_workflow(engine, case).get_tasks(state=TaskState.READY)
    assert guidance.data["product_in_archive"] and guidance.data["archive"] == guidance.data["product"]
    hits, misses = engine.workflows.hits, engine.workflows.misses
    not_solved_by_phone(engine, case)
    assert (engine.workflows.hits, engine.workflows.misses) == (hits + 1, misses)
    dispatch_and_arrive(engine, case)
    assert (engine.workflows.hits, engine.workflows.misses) == (hits + 3, misses)
