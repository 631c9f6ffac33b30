"""The floor: plain in-memory SpiffWorkflow on the same spec, path, data and script engine.

No database, no projections, no audit log, no form validation: a workflow document is
restored, one task is completed, the engine runs on, and the document is written again —
the least any persistent engine must do per completion. Two document formats are timed:
the library's own (``SPIFF_CONFIG``, spec embedded in every document) and afterflow's
state-only document (spec kept once per version), which isolates the serializer's share.

The data submitted is what afterflow stores after validating the same answers against the
same forms. Service tasks reply what the real handlers replied to the engine (recorded on
the engine's warm-up), so the floor does the library's share of a service call without the
business-record queries behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from bench.measure import CaseTimings, Completion
from bench.scenario import (
    ANSWERS,
    MAX_COMPLETIONS_PER_CASE,
    PROCESS_KEY,
    answer,
    bundle_files,
    form,
    start_data,
    start_form_key,
)
from engine.definitions.forms import validate_submission
from engine.runtime import Engine, run_until_input_needed
from engine.sandbox import SandboxedScriptEngine
from engine.store.projection import ready_human_tasks
from engine.store.serialization import ProcessSpecs, state_from_json, state_to_json

SPIFF_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
Dump = Callable[[BpmnWorkflow], str]
Load = Callable[[str], BpmnWorkflow]


def parse_specs() -> ProcessSpecs:
    """Parse the bundle's diagram and decision tables with the spiff parser, as a deploy does."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, text in bundle_files().items():
        if name.endswith(".bpmn"):
            parser.add_bpmn_str(text.encode(), filename=name)
        elif name.endswith(".dmn"):
            parser.add_dmn_str(text.encode(), filename=name)
    return ProcessSpecs(parser.get_spec(PROCESS_KEY), parser.get_subprocess_specs(PROCESS_KEY))


class ServiceRecorder:
    """Wraps an engine's service handlers to keep their last reply for the floor to give back."""

    def __init__(self, engine: Engine) -> None:
        self.replies: dict[str, Any] = {}
        services = engine.script_engine.services
        self.operations = list(services)
        for operation, handler in list(services.items()):
            services[operation] = self._recording(operation, handler)

    def _recording(self, operation: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def record(**arguments: Any) -> Any:
            self.replies[operation] = reply = handler(**arguments)
            return reply

        return record

    def replaying(self) -> dict[str, Callable[..., Any]]:
        """Handlers answering each operation with the engine's last reply."""

        def replay_of(operation: str) -> Callable[..., Any]:
            def replay(**_arguments: Any) -> Any:
                if operation not in self.replies:
                    raise RuntimeError(
                        f"the engine never called the service '{operation}': nothing to replay"
                    )
                return self.replies[operation]

            return replay

        return {operation: replay_of(operation) for operation in self.operations}


def floor_script_engine(engine: Engine, recorder: ServiceRecorder) -> SandboxedScriptEngine:
    """A script engine like the engine's own: the same helpers and time limit, services replayed."""
    return SandboxedScriptEngine(
        helpers=engine.helpers, time_limit=engine.config.script_time_limit, services=recorder.replaying()
    )


def document_formats(specs: ProcessSpecs) -> dict[str, tuple[Dump, Load]]:
    """The two ways of writing a workflow: the library's, and afterflow's state-only one."""
    return {
        "spiff": (SPIFF_SERIALIZER.serialize_json, SPIFF_SERIALIZER.deserialize_json),
        "state-only": (state_to_json, lambda text: state_from_json(text, specs)),
    }


def form_key_of(task: SpiffTask) -> str | None:
    """The form a user task names (``formKey`` property)."""
    properties = getattr(task.task_spec, "extensions", {}).get("properties", {})
    value = properties.get("formKey")
    return str(value) if value else None


@dataclass
class FloorContender:
    """In-memory SpiffWorkflow writing one of the two document formats around each completion."""

    document_format: str
    script_engine: SandboxedScriptEngine
    specs: ProcessSpecs = field(default_factory=parse_specs)
    _clean: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clean_answer(self, task: SpiffTask) -> dict[str, Any]:
        """The path's answer for a task, as afterflow stores it after form validation."""
        spec_id = task.task_spec.bpmn_id or task.task_spec.name
        if spec_id not in self._clean:
            key = form_key_of(task)
            data = answer(spec_id, key)
            self._clean[spec_id] = validate_submission(form(key), data) if key else data
        return self._clean[spec_id]

    def round(self, cases: int, record_sizes: bool = False) -> CaseTimings:
        """Run ``cases`` cases along the path, restoring and saving the document around each step."""
        dump, load = document_formats(self.specs)[self.document_format]
        key = start_form_key()
        start = validate_submission(form(key), start_data()) if key else start_data()
        start["business_number"] = "RO-20000101-0001"
        result = CaseTimings()
        for case in range(cases):
            sizes = record_sizes and case == 0
            began = time.perf_counter()
            workflow = BpmnWorkflow(
                self.specs.spec, self.specs.subprocess_specs, script_engine=self.script_engine
            )
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(start)
            run_until_input_needed(workflow)
            ready = ready_human_tasks(workflow)
            document = dump(workflow)
            result.starts.append(time.perf_counter() - began)
            if sizes:
                result.sizes.append(len(document.encode()))
            for _ in range(MAX_COMPLETIONS_PER_CASE):
                if not ready:
                    break
                chosen = _choose(ready)
                task_id = chosen.id
                data = self.clean_answer(chosen)
                cpu = time.process_time()
                began = time.perf_counter()
                workflow = load(document)
                workflow.script_engine = self.script_engine
                task = workflow.get_task_from_id(UUID(str(task_id)))
                task.task_spec.add_data_from_form(task, data)
                task.run()
                run_until_input_needed(workflow)
                ready = ready_human_tasks(workflow)
                document = dump(workflow)
                seconds = time.perf_counter() - began
                spec_id = task.task_spec.bpmn_id or task.task_spec.name
                result.add(Completion(spec_id, seconds, time.process_time() - cpu))
                if case == 0:
                    result.path.append(spec_id)
                    if sizes:
                        result.sizes.append(len(document.encode()))
            if not workflow.is_completed():
                raise RuntimeError("the floor's case did not reach its end")
        return result


def _choose(ready: list[SpiffTask]) -> SpiffTask:
    """As the engine side chooses: a task the answers name, else the first by element id."""
    ordered = sorted(ready, key=lambda t: t.task_spec.bpmn_id or t.task_spec.name)
    named = [t for t in ordered if (t.task_spec.bpmn_id or t.task_spec.name) in ANSWERS]
    return (named or ordered)[0]
