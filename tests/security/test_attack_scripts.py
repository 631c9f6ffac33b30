"""Attack scripts in every place a diagram holds code, deployed and run through the real engine.

Each attack is refused by the deploy (naming the element) or stops its case in the error
state at the element, naming the limit, within the time limit; the test process's peak
memory grows by less than 256 MB over the whole suite.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from engine.errors import DeploymentInvalid
from engine.models import Event, ProcessInstance, Task
from engine.runtime import Engine
from engine.sandbox import SandboxLimits
from processes.wiring import build_engine
from tests.conftest import actor
from tests.security.attacks import ATTACKS, Attack
from tests.security.diagrams import PLACES, attack_diagram

TIME_LIMIT = 0.5
#: When the server process kills a script process that has not answered.
HARD_TIME_LIMIT = 1.5
#: How long a case may take to stop, the limit included: generous, as the machine is shared.
STOP_WITHIN = 10 * TIME_LIMIT
PEAK_GROWTH_LIMIT_MB = 256
OWNER = actor("owner1", "admin", "service_supervisor")

_PEAK_BEFORE_ATTACKS_KB: list[int] = []


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.fixture(scope="module", autouse=True)
def _peak_before_attacks() -> None:
    """The process's peak memory before the first attack (earlier tests may have raised it)."""
    _PEAK_BEFORE_ATTACKS_KB.append(_peak_kb())


@pytest.fixture
def runtime(db: SqlEngine) -> Iterator[Engine]:
    yield build_engine(db, limits=SandboxLimits(time_limit=TIME_LIMIT, hard_time_limit=HARD_TIME_LIMIT))


def test_the_suite_has_at_least_sixty_attacks_in_every_place() -> None:
    assert len(ATTACKS) >= 60
    assert {a.place for a in ATTACKS} == set(PLACES)
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
@pytest.mark.timeout(60)
def test_attack_is_refused_at_deploy_or_stops_its_case_in_error(runtime: Engine, attack: Attack) -> None:
    files = {"attack.bpmn": attack_diagram(attack.place, attack.code)}
    if attack.outcome == "deploy":
        with pytest.raises(DeploymentInvalid) as refused:
            runtime.deploy(files, deployed_by="owner1")
        # A condition belongs to its sequence flow, which the deploy names.
        problems = [p for p in refused.value.problems if p.element_id in ("attack", "f2b")]
        assert problems, refused.value.problems
        assert attack.words in " ".join(p.message for p in problems)
        return
    runtime.deploy(files, deployed_by="owner1")
    began = time.monotonic()
    started = runtime.start("attack_process", {"n": 3}, OWNER)
    if attack.place == "postscript":  # a post-script runs when its (manual) task is completed
        with runtime.sessions() as session:
            task_id = session.scalar(select(Task.id).where(Task.instance_id == started.id))
        assert task_id is not None
        began = time.monotonic()
        runtime.complete(task_id, {}, OWNER)
    elapsed = time.monotonic() - began
    assert elapsed < STOP_WITHIN
    with runtime.sessions() as session:
        row = session.get(ProcessInstance, started.id)
        assert row is not None
        assert (row.status, row.error_element) == ("error", "attack"), row.error_message
        assert attack.words in (row.error_message or "")
        actions = list(
            session.scalars(select(Event.action).where(Event.instance_id == started.id).order_by(Event.id))
        )
    assert attack.place == "postscript" or started.status == "error"
    assert actions[0] == "instance_started" and "instance_error" in actions


def test_peak_memory_of_the_test_process_grew_less_than_256_mb() -> None:
    grown_mb = (_peak_kb() - _PEAK_BEFORE_ATTACKS_KB[0]) / 1024
    print(f"peak memory grew by {grown_mb:.0f} MB over {len(ATTACKS)} attacks")
    assert grown_mb < PEAK_GROWTH_LIMIT_MB
