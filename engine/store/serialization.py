"""Workflow state ⇄ JSON, with the process spec kept once per deployed version.

SpiffWorkflow's serializer embeds the whole spec in every workflow document. We store the
spec on the definition row and only the instance state on the instance row; on load the
cached spec objects are handed straight to the restore, so neither serializing nor
restoring a workflow touches the spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

STATE_FORMAT = "1.5"


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Leave the spec out of the document; accept already-restored spec objects back."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec = dct["spec"]
        if isinstance(spec, dict):
            return super().from_dict(dct)
        # The spec objects are shared by every instance of the version: restore around them.
        del dct["spec"]
        return _restore_with_specs(self, dct, spec, dct.pop("subprocess_specs", {}))


def _restore_with_specs(
    converter: _StateOnlyWorkflowConverter,
    dct: dict[str, Any],
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(workflow, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = converter.registry.restore(dct.pop("bpmn_events", []))
    return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()


@dataclass(frozen=True)
class ProcessSpecs:
    """The parsed spec of a process and the specs of the processes it calls."""

    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


def specs_to_json(specs: ProcessSpecs) -> str:
    """Serialize a process spec and its subprocess specs for the definition row."""
    return json.dumps(
        {
            "format": STATE_FORMAT,
            "spec": SERIALIZER.to_dict(specs.spec),
            "subprocess_specs": {k: SERIALIZER.to_dict(v) for k, v in specs.subprocess_specs.items()},
        },
        ensure_ascii=False,
    )


def specs_from_json(text: str) -> ProcessSpecs:
    """Restore the specs stored on a definition row."""
    dct = json.loads(text)
    return ProcessSpecs(
        spec=SERIALIZER.from_dict(dct["spec"]),
        subprocess_specs={k: SERIALIZER.from_dict(v) for k, v in dct["subprocess_specs"].items()},
    )


def state_to_json(workflow: BpmnWorkflow) -> str:
    """Serialize an instance's workflow state (without its spec)."""
    return str(SERIALIZER.serialize_json(workflow))


def state_from_json(text: str, specs: ProcessSpecs) -> BpmnWorkflow:
    """Restore an instance's workflow from its state and its version's specs."""
    dct = json.loads(text)
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version != STATE_FORMAT:
        raise ValueError(f"stored workflow state has format {version!r}; this build reads {STATE_FORMAT}")
    dct["spec"] = specs.spec
    dct["subprocess_specs"] = specs.subprocess_specs
    workflow: BpmnWorkflow = SERIALIZER.from_dict(dct)
    return workflow
