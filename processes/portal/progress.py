"""A request's progress as its customer sees it: stages in plain words and the next promised time.

Read from the projections only (the case row and its tasks): which steps are open says which
stage the case is at. Nothing internal leaves this module — no step names, people, notes or
case data; the web words the stage keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.runtime import Engine
from engine.store.models import OPEN_TASK, ProcessInstance, Task
from processes.portal.models import PortalRequest

#: The stages of a repair request and the steps whose being open means the case is at that stage.
REPAIR_STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("received", frozenset()),
    ("registration", frozenset({"task_register_portal"})),
    ("diagnosis", frozenset({"task_remote_guidance", "task_quote", "task_gm_approval"})),
    ("technician", frozenset({"task_dispatch", "task_arrival"})),
    ("repair", frozenset({"task_repair", "task_workshop_repair", "task_loaner", "task_parts_return"})),
    ("check", frozenset({"task_acceptance", "task_invoice"})),
    ("rating", frozenset({"task_follow_up"})),
    ("closed", frozenset()),
)
#: The stages of a complaint: what the company does inside (investigation, approval) is one stage.
COMPLAINT_STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("received", frozenset()),
    ("registration", frozenset({"task_register_portal"})),
    ("first_response", frozenset({"task_first_response"})),
    (
        "investigation",
        frozenset(
            {
                "task_register",
                "task_gm_acknowledge",
                "task_joint_sales",
                "task_joint_quality",
                "task_investigation",
                "task_cause_analysis",
                "task_countermeasure",
                "task_loss",
                "task_gm_approval",
            }
        ),
    ),
    ("reply", frozenset({"task_reply", "task_customer_decision"})),
    ("closed", frozenset()),
)
STAGES = {"repair": REPAIR_STAGES, "complaint": COMPLAINT_STAGES}
#: The step in which the customer's satisfaction card is handed in.
FOLLOW_UP_STEP = "task_follow_up"
DONE, CURRENT, PENDING, SKIPPED = "done", "current", "pending", "skipped"
ENDED = frozenset({"completed", "terminated"})


@dataclass(frozen=True)
class Stage:
    """One stage and whether it is done, the current one, or still to come."""

    key: str
    state: str


@dataclass(frozen=True)
class Progress:
    """What the status page shows."""

    business_number: str
    kind: str
    submitted_at: datetime
    product: str | None
    stages: tuple[Stage, ...]
    #: When the step the case waits for is promised (due on the working-time calendar), if it is.
    promised_by: datetime | None
    closed: bool
    #: The satisfaction card may be handed in now.
    rating_open: bool
    rated: bool


def progress_of(engine: Engine, request: PortalRequest) -> Progress:
    """Return the progress of a portal request's case."""
    stages = STAGES[request.kind]
    with engine.sessions() as session:
        case = session.execute(
            select(ProcessInstance.business_number, ProcessInstance.status, ProcessInstance.product).where(
                ProcessInstance.id == request.instance_id
            )
        ).one()
        open_steps = session.execute(
            select(Task.spec_id, Task.due_at, Task.assignee).where(
                Task.instance_id == request.instance_id, OPEN_TASK
            )
        ).all()
        had = set(session.scalars(select(Task.spec_id).where(Task.instance_id == request.instance_id)))
    closed = case.status in ENDED
    if closed:
        current = len(stages)  # every stage done
    else:
        reached = [i for i, (_, steps) in enumerate(stages) for spec_id, *_ in open_steps if spec_id in steps]
        current = max(reached, default=1)
    promised = [
        due
        for spec_id, due, _ in open_steps
        if due is not None and current < len(stages) and spec_id in stages[current][1]
    ]
    return Progress(
        business_number=case.business_number,
        kind=request.kind,
        submitted_at=request.submitted_at,
        product=case.product,
        stages=tuple(Stage(key, _state(i, current, steps, had)) for i, (key, steps) in enumerate(stages)),
        promised_by=min(promised, default=None),
        closed=closed,
        # A follow-up customer service has taken (they are calling the customer) is theirs to fill.
        rating_open=not closed
        and any(spec_id == FOLLOW_UP_STEP and assignee is None for spec_id, _, assignee in open_steps),
        rated=request.rated_at is not None,
    )


def _state(index: int, current: int, steps: frozenset[str], had: set[str]) -> str:
    """A passed stage none of whose steps ever opened was skipped (a fault solved by phone has no technician)."""
    if index == current:
        return CURRENT
    if index > current:
        return PENDING
    return SKIPPED if steps and not steps & had else DONE
