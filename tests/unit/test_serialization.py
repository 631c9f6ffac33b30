"""Workflow state is stored without its spec and restores into the cached spec objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.calendar import WorkingCalendar
from engine.definitions import validate_files
from engine.sandbox import SandboxedScriptEngine
from engine.script_helpers import make_helpers
from engine.store.serialization import (
    SERIALIZER,
    ProcessSpecs,
    specs_from_json,
    specs_to_json,
    state_from_json,
    state_to_json,
)
from processes.roles import role_for_lane
from tests.conftest import diagram_files

FOREIGN = Path(__file__).resolve().parent.parent / "fixtures" / "foreign"


def repair_specs():  # type: ignore[no-untyped-def]
    result = validate_files(diagram_files(), role_for_lane)
    assert result.ok, result.problems
    bundle = next(b for b in result.bundles if b.key == "repair_service")
    return specs_from_json(specs_to_json(bundle.specs))


def test_state_leaves_the_spec_out_and_restores_every_step() -> None:
    specs = repair_specs()
    script_engine = SandboxedScriptEngine(
        helpers=make_helpers(WorkingCalendar()),
        services={"product_lookup": lambda serial_number: {"found": False}},
    )
    workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update(
        {
            "customer_name": "协和医院",
            "urgency": "normal",
            "key_customer": False,
            "contract_in_force": True,
            "cause": "normal",
            "warranty_end": None,
            "serial_number": "SN-1",
            "distance_band": "urban",
            "product_model": "PM-9000",
        }
    )
    workflow.do_engine_steps()

    text = state_to_json(workflow)
    document = json.loads(text)
    assert "spec" not in document and "subprocess_specs" not in document
    library = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    full = library.serialize_json(workflow)
    assert "spec" in json.loads(full)  # the library's own document carries the whole spec
    assert len(text) < len(full) / 2

    restored = state_from_json(text, specs)
    assert restored.spec is specs.spec  # shared, not rebuilt per instance
    ready = restored.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.name for t in ready] == ["task_remote_guidance"]
    assert ready[0].data["service_category"] == "A"
    assert ready[0].data["customer_name"] == "协和医院"
    assert state_to_json(restored) == text


def test_compact_state_restores_what_the_full_document_restores() -> None:
    specs = repair_specs()
    script_engine = SandboxedScriptEngine(
        helpers=make_helpers(WorkingCalendar()),
        services={"product_lookup": lambda serial_number: {"found": False}},
    )
    workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update(
        {
            "customer_name": "协和医院",
            "urgency": "normal",
            "key_customer": False,
            "contract_in_force": True,
            "cause": "normal",
            "warranty_end": None,
            "serial_number": "SN-1",
            "distance_band": "urban",
            "product_model": "PM-9000",
        }
    )
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    ready.set_data(solved_by_phone="no", guidance_notes="上门")
    ready.run()
    workflow.do_engine_steps()

    compact = state_to_json(workflow)
    # The document a case stored before the compact form: SpiffWorkflow's own, every key spelled out.
    full = SERIALIZER.serialize_json(workflow)
    assert len(compact) < len(full) * 0.8
    document = json.loads(compact)
    assert document["compact"] == 1
    assert all(
        "id" not in task and "parent" not in task
        for task in document["tasks"].values()
        if task.get("children")
    )

    from_compact, from_full = state_from_json(compact, specs), state_from_json(full, specs)
    tasks = {str(t.id): t for t in from_full.get_tasks()}
    assert {str(t.id) for t in from_compact.get_tasks()} == set(tasks)
    for task in from_compact.get_tasks():
        twin = tasks[str(task.id)]
        assert (task.state, task.task_spec.name, task.data, task.triggered, task.internal_data) == (
            twin.state,
            twin.task_spec.name,
            twin.data,
            twin.triggered,
            twin.internal_data,
        )
        assert (str(task.parent.id) if task.parent else None) == (
            str(twin.parent.id) if twin.parent else None
        )
        assert [str(c.id) for c in task.children] == [str(c.id) for c in twin.children]
    # Both restore to the same compact text, and an old document is read as it was stored.
    assert state_to_json(from_full) == state_to_json(from_compact) == compact


def _registry_document(workflow: BpmnWorkflow) -> str:
    """The compact text as it was first written: the registry converts everything, then each task is compacted."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
    finally:
        registry._encoder_mode = False
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    dct["compact"] = 1
    for tasks in [dct["tasks"], *(sub["tasks"] for sub in dct["subprocesses"].values())]:
        parents = {child: task_id for task_id, task in tasks.items() for child in task["children"]}
        for task_id, task in tasks.items():
            if task.get("id") == task_id:
                del task["id"]
            if "parent" in task and task["parent"] == parents.get(task_id):
                del task["parent"]
            for key, default in {"triggered": False, "internal_data": {}, "data": {}}.items():
                if key in task and task[key] == default and type(task[key]) is type(default):
                    del task[key]
    return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"))


def _foreign_specs(name: str, process_id: str) -> ProcessSpecs:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FOREIGN / name))
    return ProcessSpecs(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))


def _odd_values(step: int) -> dict[str, Any]:
    """Case data JSON holds only converted, and data that changes every step."""
    return {
        "step": step,
        "when": datetime(2026, 1, step % 28 + 1, 9, 30, tzinfo=UTC),
        "late_by": timedelta(hours=step),
        "nested": {"k": [1, {"x": None, "y": 1.5}], "客户": "协和医院"},
        "gone": None if step % 2 else "here",
    }


@pytest.mark.parametrize(
    "source",
    ["repair_service", "deeply_nested.bpmn", "with_event_subprocess.bpmn"],
)
def test_state_text_is_the_registry_documents_compact_form_at_every_step(source: str) -> None:
    if source == "repair_service":
        specs, answers = repair_specs(), _REPAIR_ANSWERS
    else:
        process_id = source.removesuffix(".bpmn")
        file = {"deeply_nested": "nested_subprocesses.bpmn", "with_event_subprocess": "event_subprocess.bpmn"}
        specs, answers = _foreign_specs(file[process_id], process_id), {}
    script_engine = SandboxedScriptEngine(
        helpers=make_helpers(WorkingCalendar()),
        services={"product_lookup": lambda serial_number: {"found": False}},
    )
    workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine)
    texts = []
    for step in range(60):
        text = state_to_json(workflow)
        assert text == _registry_document(workflow)
        restored = state_from_json(text, specs)
        assert state_to_json(restored) == text
        texts.append(text)
        ready = workflow.get_tasks(state=TaskState.READY)
        if not ready:
            break
        task = ready[0]
        task.data.update(answers)
        if task.task_spec.manual:
            task.data.update(_odd_values(step))
            if step % 3 == 0:
                task.data.pop("gone", None)  # a key the parent has and the child lost
        task.internal_data["seen"] = {"step": step, "tags": {"a"}, "pair": (step, "二")}
        task.internal_data["callback"] = len  # left out, like every callable
        workflow.task_tree.triggered = bool(step % 2)
        try:
            task.run()
            workflow.do_engine_steps()
        except WorkflowException:  # a task in error is saved like any other
            assert state_to_json(workflow) == _registry_document(workflow)
            break
    assert len(texts) >= (6 if answers else 2)
    assert '"deletions":["gone"]' in texts[-1] or not answers
    assert any(json.loads(text)["subprocesses"] for text in texts)


_REPAIR_ANSWERS = {
    "customer_name": "协和医院",
    "urgency": "normal",
    "key_customer": False,
    "contract_in_force": True,
    "cause": "normal",
    "warranty_end": None,
    "serial_number": "SN-1",
    "distance_band": "urban",
    "product_model": "PM-9000",
    "solved_by_phone": "no",
    "guidance_notes": "上门",
    "accepted": "yes",
    "approved": "yes",
    "customer_accepts": "yes",
    "outcome": "repaired",
    "satisfaction": "satisfied",
    "has_complaint": False,
    **{name: 5 for name in ("rating_arrival_time", "rating_attitude", "rating_promises", "rating_technique")},
}
