"""Notifications of after-sales work: their wording (zh/en), who hears of breaches, customers' notices."""

from __future__ import annotations

from engine.calendar import WorkingCalendar
from engine.outbox.collect import OutboxConfig
from engine.store.models import Task

#: Service supervisors follow up breaches (SPEC §2: 服务主任处理升级事项).
BREACH_ROLES = frozenset({"service_supervisor"})
#: Tell people once this share of a task's time to its due time has passed.
DUE_SOON_SHARE = 0.75


def _share(task: Task) -> float | None:
    return DUE_SOON_SHARE


def outbox_config(calendar: WorkingCalendar) -> OutboxConfig:
    """The outbox configured for our roles and policy, over the company calendar."""
    return OutboxConfig(calendar=calendar, breach_roles=BREACH_ROLES, due_soon_share=_share)
