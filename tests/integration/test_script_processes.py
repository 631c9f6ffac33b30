"""The pool of script processes: kill and replace, two threads at once, helpers, data only, no leaks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ScriptError
from engine.sandbox import SandboxEnvironment, SandboxLimits, ScriptLimitExceeded
from engine.sandbox.script_processes import ScriptProcessPool, pool_for

ROOT = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(time_limit=0.5, hard_time_limit=1.0, script_processes=2)
HASH_BOMB = "a = [1] * 100000\nt = tuple([tuple(a)] * 100000)\ny = hash(t)"
LOOP_SCRIPT = "total = 0\nfor i in range(n):\n    total = total + i"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment({"double": lambda n: n * 2}, limits=LIMITS)


def test_a_script_with_a_loop_runs_in_a_script_process_and_answers(env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {"n": 10}
    env.execute(LOOP_SCRIPT, data)
    pool = pool_for(LIMITS)
    assert pool is not None and pool.worker_pids()
    assert os.getpid() not in pool.worker_pids()
    assert data == {"n": 10, "total": 45, "i": 9}


def test_a_killed_script_process_is_replaced_and_the_next_script_runs_normally(
    env: SandboxEnvironment,
) -> None:
    env.execute(LOOP_SCRIPT, {"n": 1})
    pool = pool_for(LIMITS)
    assert pool is not None
    before, replaced = set(pool.worker_pids()), pool.replaced
    began = time.monotonic()
    with pytest.raises(ScriptLimitExceeded) as stopped:
        env.execute(HASH_BOMB, {})
    assert time.monotonic() - began < 1.0 + 2.0  # the hard limit, and the kill
    assert stopped.value.details["limit"] == "AFTERFLOW_SCRIPT_HARD_TIME_LIMIT"
    assert pool.replaced == replaced + 1
    killed = before - set(pool.worker_pids())
    assert killed and not any(_pid_alive(pid) for pid in killed)
    data: dict[str, Any] = {"n": 5}
    env.execute(LOOP_SCRIPT, data)
    assert data["total"] == 10


def test_two_threads_evaluating_at_once_both_get_answers(env: SandboxEnvironment) -> None:
    answers: dict[int, Any] = {}

    def evaluate(n: int) -> None:
        answers[n] = env.evaluate("sum([i for i in range(n)])", {"n": n})

    threads = [threading.Thread(target=evaluate, args=(n,)) for n in (100, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == {100: 4950, 200: 19900}


def test_helpers_run_in_the_server_process_and_their_errors_reach_the_script(env: SandboxEnvironment) -> None:
    calls: list[int] = []
    helper_env = SandboxEnvironment(
        {"pid": lambda: calls.append(os.getpid()) or os.getpid(), "fail": lambda: int("x")}, limits=LIMITS
    )
    assert helper_env.evaluate("[pid() for i in range(2)]", {}) == [os.getpid()] * 2
    assert calls == [os.getpid()] * 2
    data: dict[str, Any] = {}
    helper_env.execute(
        "for i in range(1):\n    try:\n        fail()\n    except ValueError:\n        ok = True", data
    )
    assert data["ok"] is True


def test_results_come_back_as_data_of_the_same_types(env: SandboxEnvironment) -> None:
    moment = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    out: dict[str, Any] = {"moment": moment, "n": 2, "duration": timedelta(hours=2)}
    env.execute(
        "for i in range(1):\n    later = moment + duration\n    pair = (n, 'b')\n    keyed = {1: 'one'}", out
    )
    assert out["later"] == moment + timedelta(hours=2) and out["later"].tzinfo is not None
    assert out["pair"] == (2, "b") and out["keyed"] == {1: "one"}
    assert env.evaluate("{i for i in range(3)}", {}) == {0, 1, 2}


def test_a_value_that_is_not_data_stays_in_the_script_process(env: SandboxEnvironment) -> None:
    with pytest.raises(ScriptError, match=r"cannot keep|cannot be returned"):
        env.execute("f = [len for i in range(1)]", {})
    with pytest.raises(ScriptError, match="cannot be returned"):
        env.evaluate("[len for i in range(1)][0]", {})


def test_errors_keep_their_type_and_line(env: SandboxEnvironment) -> None:
    with pytest.raises(ZeroDivisionError) as failed:
        env.execute("x = 1\nfor i in range(1):\n    y = 1 / 0", {})
    assert failed.value.script_line == 3  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        env.evaluate("[d['missing'] for d in ds]", {"ds": [{}]})


def test_simple_expressions_stay_in_process_and_escalate_when_they_would_walk_far() -> None:
    env = SandboxEnvironment({}, limits=LIMITS)
    pool = pool_for(LIMITS)
    assert pool is not None
    replaced = pool.replaced
    # Repeating a nested list is simple by its text; at run time it goes to a script process.
    assert env.evaluate("[[1]] * 3 == [[1], [1], [1]]", {}) is True
    assert env.evaluate("x == y", {"x": [[i] for i in range(2000)], "y": [[i] for i in range(2000)]}) is True
    assert pool.replaced == replaced


def test_script_processes_can_be_turned_off() -> None:
    off = SandboxLimits(time_limit=0.5, script_processes=0)
    assert pool_for(off) is None
    assert SandboxLimits.from_environ({"AFTERFLOW_SCRIPT_PROCESSES": "0"}).script_processes == 0
    data: dict[str, Any] = {"n": 4}
    SandboxEnvironment({}, limits=off).execute(LOOP_SCRIPT, data)
    assert data["total"] == 6


def test_a_pool_of_one_serves_threads_in_turn() -> None:
    pool = ScriptProcessPool(1, 256)
    limits = SandboxLimits(time_limit=0.5, script_processes=1)
    answers: list[Any] = []

    def run(n: int) -> None:
        answers.append(pool.run("eval", "[i for i in range(n)]", {"n": n}, None, {}, limits))

    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(answers, key=len) == [[0], [0, 1], [0, 1, 2]]
        assert len(pool.worker_pids()) == 1
    finally:
        pool.close()


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_no_script_process_outlives_the_process_that_started_it() -> None:
    out = _run_python(
        """
        import os
        from engine.sandbox import SandboxEnvironment, SandboxLimits
        from engine.sandbox.script_processes import pool_for
        limits = SandboxLimits(script_processes=2)
        env = SandboxEnvironment({}, limits=limits)
        assert env.evaluate("[i for i in range(3)]", {}) == [0, 1, 2]
        pids = pool_for(limits).worker_pids()
        server = int(open(f"/proc/{pids[0]}/stat").read().split(") ", 1)[1].split()[1])
        print(" ".join(str(p) for p in [*pids, server]))
        """
    )
    pids = [int(p) for p in out.split()]
    assert len(pids) >= 2
    deadline = time.monotonic() + 10
    while any(_pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _pid_alive(pid)]


def test_a_forked_server_process_starts_its_own_script_processes() -> None:
    out = _run_python(
        """
        import os
        from engine.sandbox import SandboxEnvironment, SandboxLimits
        from engine.sandbox.script_processes import pool_for
        limits = SandboxLimits(script_processes=1)
        env = SandboxEnvironment({}, limits=limits)
        assert env.evaluate("[i for i in range(2)]", {}) == [0, 1]
        parent_workers = pool_for(limits).worker_pids()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # as a gunicorn worker forked from the master
            answer = env.evaluate("[i * 2 for i in range(2)]", {})
            mine = pool_for(limits).worker_pids()
            os.write(write, f"{answer} {mine != parent_workers}".encode())
            os._exit(0)
        os.waitpid(child, 0)
        print(os.read(read, 100).decode(), env.evaluate("[i for i in range(3)]", {}))
        """
    )
    assert out.split() == ["[0,", "2]", "True", "[0,", "1,", "2]"]
