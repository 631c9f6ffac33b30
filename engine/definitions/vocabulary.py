"""The BPMN and DMN vocabulary validation reads, and the limits it holds deployments to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FORM_SUFFIX = ".form.json"
MAX_FILE_BYTES = 5 * 1024 * 1024
#: The DMN hit policies afterflow runs, and the one SpiffWorkflow's DMN engine evaluates each
#: with: its UNIQUE stops at the first matching rule, which is exactly DMN's FIRST.
HIT_POLICIES = {"FIRST": "UNIQUE", "UNIQUE": "UNIQUE", "COLLECT": "COLLECT"}
#: Helpers a timer expression may use and still be evaluated at deploy time.
TIMER_HELPERS = frozenset({"now", "today", "hours", "working_hours", "working_days", "due_in"})
#: Column sizes of the tables the values end up in.
MAX_KEY_LENGTH = 128
MAX_NAME_LENGTH = 256
MAX_PREFIX_LENGTH = 8
#: SpiffWorkflow's parser takes time growing with the square of a process's size: beyond this
#: many elements a deploy would hang instead of answering.
MAX_FLOW_NODES = 1500
#: Each executable process is stored with all its files: a cap keeps one deploy reasonable.
MAX_PROCESSES = 100

RoleResolver = Callable[[str | None], str | None]
TimerEvaluator = Callable[[str], Any]

_HUMAN_TASKS = {"userTask": "user task", "manualTask": "manual task", "task": "task"}
_SUBPROCESS_TAGS = ("subProcess", "transaction", "adHocSubProcess")
_FLOW_NODE_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
_UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported; use an inclusive or a parallel gateway",
}
_PYTHON_SCRIPT_FORMATS = frozenset({"", "python", "python3", "text/x-python", "application/x-python"})
_DMN_VERSIONS = {
    "20211108": "1.4",
    "20230324": "1.5",
}
