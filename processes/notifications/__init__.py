"""Notifications of after-sales work: their wording (zh/en), who hears of breaches, customers' notices."""

from __future__ import annotations

import ast

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import WorkingCalendar
from engine.outbox.collect import DueSoonShares, OutboxConfig
from engine.store.models import ProcessDefinition
from processes.notifications.models import DueSoonShareRow

#: Service supervisors follow up breaches (SPEC §2: 服务主任处理升级事项).
BREACH_ROLES = frozenset({"service_supervisor"})
#: When the policy table has no ``notify`` / ``due_soon`` row: tell people at three quarters of the time.
DUE_SOON_SHARE = 0.75
#: The policy table, carried by the versions of the repair process (as the KPI targets are).
POLICY_FILE = "sla_policy.dmn"
POLICY_PROCESS = "repair_service"


class DueSoonShare:
    """The "due soon" shares: per process as the administrators set them, else their default, else the
    ``notify`` / ``due_soon`` row of the newest deployed policy table (parsed once per version)."""

    def __init__(self) -> None:
        self._seen: tuple[int, float] | None = None

    def __call__(self, session: Session) -> DueSoonShares:
        shares = {
            key: float(share)
            for key, share in session.execute(select(DueSoonShareRow.process_key, DueSoonShareRow.share))
        }
        default = shares.pop("", None)
        return DueSoonShares(self.of_policy(session) if default is None else default, shares)

    def of_policy(self, session: Session) -> float:
        """The share the newest policy table sets (or the built-in one)."""
        newest = session.scalar(
            select(ProcessDefinition.id)
            .where(ProcessDefinition.process_key == POLICY_PROCESS)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        if newest is None:
            return DUE_SOON_SHARE
        if self._seen is None or self._seen[0] != newest:
            files = session.scalar(select(ProcessDefinition.files).where(ProcessDefinition.id == newest))
            text = (files or {}).get(POLICY_FILE)
            self._seen = (newest, share_in(text) if text else DUE_SOON_SHARE)
        return self._seen[1]


def share_in(text: str) -> float:
    """The ``notify`` / ``due_soon`` row of a policy table (a share between 0 and 1), else the default."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(text.encode(), parser)
    except etree.XMLSyntaxError:
        return DUE_SOON_SHARE
    for rule in root.iter("{*}rule"):
        inputs = [(cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}inputEntry")]
        outputs = [(cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}outputEntry")]
        if len(inputs) < 2 or not outputs:
            continue
        try:
            process, stage, value = ast.literal_eval(inputs[0]), ast.literal_eval(inputs[1]), outputs[0]
            share = float(ast.literal_eval(value))
        except (ValueError, SyntaxError, TypeError):
            continue
        if process == "notify" and stage == "due_soon" and 0 < share < 1:
            return share
    return DUE_SOON_SHARE


def outbox_config(calendar: WorkingCalendar) -> OutboxConfig:
    """The outbox configured for our roles and policy, over the company calendar."""
    return OutboxConfig(calendar=calendar, breach_roles=BREACH_ROLES, due_soon_share=DueSoonShare())
