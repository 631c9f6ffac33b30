"""Workflow state is stored without its spec and restores into the cached spec objects."""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.calendar import WorkingCalendar
from engine.definitions import validate_files
from engine.sandbox import SandboxedScriptEngine
from engine.script_helpers import make_helpers
from engine.store.serialization import (
    SERIALIZER,
    specs_from_json,
    specs_to_json,
    state_from_json,
    state_to_json,
)
from processes.roles import role_for_lane
from tests.conftest import diagram_files


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
