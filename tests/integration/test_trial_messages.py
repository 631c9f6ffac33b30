"""A replay delivers the messages a recorded case received, in their place among its answers."""

from __future__ import annotations

from engine.definitions import collect_files
from engine.runtime import Engine
from engine.runtime.trial import TrialPlan, TrialStep, bundle_of, run_trial
from engine.runtime.trial_replay import recorded_case, replay
from tests.integration.test_runtime import (  # noqa: F401  (the fixtures)
    BILL,
    FIXTURES,
    FRIDAY_AFTERNOON,
    ledger,
    runtime,
)

OWNER = BILL


def _files() -> dict[str, str]:
    files, problems = collect_files([FIXTURES])
    assert not problems
    return files


def test_a_recorded_message_is_delivered_again_in_the_replay(runtime: Engine) -> None:  # noqa: F811
    started = runtime.start("lookup", {"batch": "B1"}, BILL)
    runtime.send_message(started.id, "customer_reply", {"accepted": True}, BILL)
    case = recorded_case(runtime, started.id, "lookup")
    assert [s.message for s in case.plan.steps if s.message] == ["customer_reply"]

    result = replay(runtime, bundle_of(runtime, _files(), "lookup"), case, OWNER)
    assert result.difference is None
    kinds = [(e.kind, e.element) for e in result.trial.events]
    assert ("message_received", None) in kinds
    assert [t.element for t in result.trial.open_tasks] == ["task_check"]


def test_a_message_nobody_waits_for_stops_the_trial(runtime: Engine) -> None:  # noqa: F811
    plan = TrialPlan(
        start_at=FRIDAY_AFTERNOON,
        data={"batch": "B1"},
        steps=[TrialStep(None, {}, 0, message="no_such_message")],
    )
    result = run_trial(runtime, bundle_of(runtime, _files(), "lookup"), plan, OWNER)
    assert result.refused is not None and result.refused["reason"] == "no_message"
