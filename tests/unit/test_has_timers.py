"""Whether a process has timers is remembered per spec object, and only while the spec lives."""

from __future__ import annotations

import gc
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.store import projection
from engine.store.projection import has_timers


class Spec:
    """What ``has_timers`` reads of a process spec: its task specs."""

    def __init__(self, task_specs: dict[str, Any]) -> None:
        self.task_specs = task_specs


class Workflow:
    def __init__(self, spec: Spec, subprocess_specs: dict[str, Spec] | None = None) -> None:
        self.spec = spec
        self.subprocess_specs = subprocess_specs or {}


def timer_spec() -> Any:
    from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

    spec = CatchingEvent.__new__(CatchingEvent)
    spec.event_definition = TimerEventDefinition.__new__(TimerEventDefinition)
    return spec


def test_a_spec_s_answer_goes_with_the_spec() -> None:
    plain = Spec({"start": object()})
    assert not has_timers(Workflow(plain))  # type: ignore[arg-type]
    assert plain in projection._timer_specs
    del plain
    gc.collect()
    assert not any(type(spec) is Spec for spec in projection._timer_specs)  # nothing left to be mistaken
    timed = Spec({"start": object()})
    assert has_timers(Workflow(Spec({}), {"sub": Spec({"timer": timer_spec()})}))  # type: ignore[arg-type]
    assert not has_timers(Workflow(timed))  # type: ignore[arg-type]
    assert has_timers(Workflow(timed, {"sub": Spec({"timer": timer_spec()})}))  # type: ignore[arg-type]  # other subprocesses: asked again
