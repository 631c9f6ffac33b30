"""Trials and replays beyond user tasks: messages a case received, and scripts the sandbox stops."""

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


def test_a_script_that_never_ends_stops_in_the_trial_as_in_a_real_case(runtime: Engine) -> None:  # noqa: F811
    runtime.script_engine.environment.time_limit = 0.3
    files = _files()
    files["mini.bpmn"] = files["mini.bpmn"].replace("check = 10 / divisor", "while True:\n    pass")
    plan = TrialPlan(
        start_at=FRIDAY_AFTERNOON,
        data={"customer_name": "协和医院", "owner": "sup1", "divisor": "2"},
        steps=[TrialStep("task_first", {"amount": "1"}, 5)],
    )
    result = run_trial(runtime, bundle_of(runtime, files, "mini"), plan, OWNER)
    assert result.error is not None and result.error["element"] == "script_total"
    assert "longer than the limit" in result.error["message"]
    assert result.open_tasks == [] and not result.finished
