"""The stages a case of each process goes through, as managers and inspectors follow it.

Repair service reads 报修 → 派工 → 维修 → 验收 → 回访 [SPEC §4; seed 003]; every other process has
its own line. A stage is made of the steps (BPMN element ids) that belong to it; a case's line
says which stages are done (who did the last step and when), which runs now, which lie ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from engine.store.models import ProcessInstance, Task


@dataclass(frozen=True)
class Stage:
    key: str
    name_zh: str
    name_en: str
    #: The steps of the stage (user tasks).
    elements: tuple[str, ...]
    #: The stage the case begins with: done once the case is registered (by whoever started it).
    opens: bool = False

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


STAGES: dict[str, tuple[Stage, ...]] = {
    "repair_service": (
        Stage(
            "request",
            "报修",
            "Request",
            ("task_remote_guidance", "task_response_escalation", "task_quote", "task_gm_approval"),
            opens=True,
        ),
        Stage("dispatch", "派工", "Dispatch", ("task_dispatch", "task_dispatch_escalation")),
        Stage(
            "repair",
            "维修",
            "Repair",
            (
                "task_arrival",
                "task_arrival_escalation",
                "task_repair",
                "task_workshop_repair",
                "task_loaner",
                "task_repair_late",
                "task_parts_return",
            ),
        ),
        Stage("acceptance", "验收", "Acceptance", ("task_acceptance", "task_invoice")),
        Stage("follow_up", "回访", "Follow-up", ("task_follow_up",)),
    ),
    "complaint": (
        Stage(
            "received",
            "受理",
            "Received",
            ("task_intake_repair", "task_refile", "task_first_response", "task_first_response_overdue"),
            opens=True,
        ),
        Stage("screening", "登记甄别", "Screening", ("task_register", "task_gm_acknowledge")),
        Stage(
            "investigation",
            "调查",
            "Investigation",
            (
                "task_joint_sales",
                "task_joint_quality",
                "task_investigation",
                "task_investigation_overdue",
                "task_cause_analysis",
            ),
        ),
        Stage(
            "handling", "处理方案", "Handling plan", ("task_countermeasure", "task_loss", "task_gm_approval")
        ),
        Stage("reply", "答复", "Reply", ("task_reply", "task_customer_decision")),
        Stage("closure", "结案", "Closure", ("task_improvement_tracking", "task_closure_overdue")),
    ),
    "sales_return": (
        Stage("request", "退货申请", "Request", (), opens=True),
        Stage("ledger", "核对销售记录", "Ledger check", ("task_return_notice",)),
        Stage(
            "approval",
            "审批",
            "Approval",
            ("task_approve_quality", "task_approve_business", "task_notify_rejection"),
        ),
        Stage("pickup", "提货", "Pickup", ("task_pickup", "task_pickup_escalation")),
        Stage(
            "receipt",
            "收货验收",
            "Receipt and inspection",
            ("task_receive", "task_receipt_refused", "task_inspect", "task_restock", "task_nonconforming"),
        ),
        Stage(
            "remedy",
            "退款或换货",
            "Refund or replacement",
            ("task_refund", "task_replace", "task_remedy_escalation"),
        ),
    ),
    "recall": (
        Stage("opened", "召回登记", "Registered", (), opens=True),
        Stage("notification", "通知", "Notification", ("task_notify", "task_notify_escalation")),
        Stage("collection", "收回", "Collection", ("task_collect",)),
        Stage("report", "报告", "Report", ("task_report",)),
        Stage("disposal", "处置", "Disposal", ("task_dispose",)),
        Stage("summary", "总结审批", "Summary", ("task_summary",)),
    ),
}


@dataclass
class StageState:
    """One stage of one case: ``done``, ``current``, ``pending`` or ``skipped`` (the case ended without it)."""

    stage: Stage
    state: str
    people: list[str] = field(default_factory=list)
    at: datetime | None = None


def stages_of(process_key: str, tasks: Sequence[Task]) -> tuple[Stage, ...]:
    """The stages of a process; a process without a line gets one stage per step its case went through."""
    known = STAGES.get(process_key)
    if known is not None:
        return known
    seen: dict[str, str] = {}
    for task in tasks:
        seen.setdefault(task.spec_id, task.name)
    return tuple(Stage(spec, name, name, (spec,)) for spec, name in seen.items())


def progress(instance: ProcessInstance, tasks: Sequence[Task]) -> list[StageState]:
    """Where a case stands on its process's stages, with who finished each stage and when."""
    stages = stages_of(instance.process_key, tasks)
    states: list[StageState] = []
    for stage in stages:
        mine = [t for t in tasks if t.spec_id in stage.elements]
        done = [t for t in mine if t.state == "completed"]
        if any(t.state == "open" for t in mine) and instance.status not in ("completed", "terminated"):
            state = StageState(stage, "current")
        elif done:
            last = max(done, key=lambda t: (t.completed_at or instance.started_at, t.id))
            state = StageState(stage, "done", [last.completed_by or ""], last.completed_at)
        elif stage.opens:
            state = StageState(stage, "done", [instance.started_by or ""], instance.started_at)
        else:
            state = StageState(stage, "pending")
        if state.state == "current":
            state.people = sorted({t.assignee for t in mine if t.state == "open" and t.assignee})
        states.append(state)
    reached = max((n for n, s in enumerate(states) if s.state in ("done", "current")), default=-1)
    for n, state in enumerate(states):
        if state.state == "pending" and (n < reached or instance.status in ("completed", "terminated")):
            state.state = "skipped"
    return states
