"""When customers are told of their case, without anyone asking: the steps that mean a stage was reached.

``install`` listens on the engine's session factory like the outbox does: a transaction that
registers a repair (by staff), completes its dispatch, or opens its follow-up also writes the
customer's notice, with the private status link, on the channels the company set. A case staff
registered gets its status key here, the portal's kind (``processes/portal``), so its link opens the
same status page. The technician is named (display name only) where the company allows it; nothing
else of the case — no notes, no form data — goes into a notice.
"""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.store.models import Event, ProcessInstance, User
from processes.notifications.customers import contact_in, notify_customer
from processes.notifications.settings import CustomerNotices, customer_notices
from processes.portal.intake import KINDS, SEED_BYTES, hash_token, request_link_token, status_token
from processes.portal.models import PortalRequest

_NOTED = "afterflow_customer_noted"

#: Per process: (audit action, step) → the stage the customer is told of.
TRIGGERS: dict[str, dict[tuple[str, str | None], str]] = {
    "repair_service": {
        ("instance_started", None): "received",
        ("task_completed", "task_dispatch"): "on_the_way",
        ("task_created", "task_follow_up"): "completed",
    },
}
#: The case-data key of the technician a dispatch named.
TECHNICIAN_KEY = "technician"


@dataclass
class StatusLinks:
    """How to write a status link: the app's secret key (status keys are HMACs under it) and the URL of a key."""

    secret_key: str
    url_of: Callable[[str], str]


_INSTALLED: weakref.WeakKeyDictionary[sessionmaker[Session], StatusLinks] = weakref.WeakKeyDictionary()


def install(factory: sessionmaker[Session], links: StatusLinks) -> None:
    """Make the transactions of ``factory`` tell customers of their cases (once per factory; later calls
    replace the links)."""
    known = factory in _INSTALLED
    _INSTALLED[factory] = links
    if known:
        return

    def noted(session: Session, _context: Any) -> None:
        found = [o for o in session.new if isinstance(o, Event) and _stage_key(o) in _ANY_TRIGGER]
        if found:
            session.info.setdefault(_NOTED, []).extend(found)

    def before_commit(session: Session) -> None:
        session.flush()
        pending = session.info.pop(_NOTED, None)
        if pending:
            tell(session, pending, _INSTALLED[factory])

    def forget(session: Session, *_args: Any) -> None:
        session.info.pop(_NOTED, None)

    sa_event.listen(factory, "after_flush", noted)
    sa_event.listen(factory, "before_commit", before_commit)
    sa_event.listen(factory, "after_rollback", forget)


def _stage_key(event: Event) -> tuple[str, str | None]:
    return (event.action, None if event.action == "instance_started" else event.element_id)


_ANY_TRIGGER = {key for triggers in TRIGGERS.values() for key in triggers}


def tell(session: Session, events: list[Event], links: StatusLinks) -> int:
    """Queue the customers' notices the noted ``events`` call for; return how many were queued."""
    setting: CustomerNotices | None = None
    added = 0
    for event in events:
        case = session.get(ProcessInstance, event.instance_id) if event.instance_id else None
        stage = TRIGGERS.get(case.process_key, {}).get(_stage_key(event)) if case else None
        if case is None or stage is None:
            continue
        if stage == "received" and (event.data or {}).get("message"):
            continue  # a request from the portal: the portal told the customer already
        setting = setting or customer_notices(session)
        if not setting.enabled:
            return 0
        facts = dict((case.facts or {}).get("data") or {})
        contact = contact_in(facts)
        if not (contact.email or contact.phone):
            continue
        request = _portal_request(session, case, links.secret_key)
        if request is None:
            continue
        link = links.url_of(request_link_token(links.secret_key, request))
        extra: dict[str, Any] = {}
        if stage == "on_the_way" and setting.name_technician:
            extra["technician"] = _display_name(session, facts.get(TECHNICIAN_KEY))
        added += notify_customer(session, case, stage, _always(link), contact, setting.channels, extra)
    return added


def _always(link: str) -> Callable[[ProcessInstance], str]:
    return lambda _case: link


def _display_name(session: Session, username: Any) -> str:
    if not isinstance(username, str) or not username:
        return ""
    return session.scalar(select(User.display_name).where(User.username == username)) or ""


def _portal_request(session: Session, case: ProcessInstance, secret_key: str) -> PortalRequest | None:
    """The status key's row of a case: the portal's, or one made now for a case staff registered."""
    found = session.scalar(select(PortalRequest).where(PortalRequest.instance_id == case.id))
    if found is not None:
        return found
    kind = next((k.key for k in KINDS.values() if k.process_key == case.process_key), None)
    if kind is None:
        return None  # the status page knows no stages of this process
    seed = secrets.token_hex(SEED_BYTES)
    row = PortalRequest(
        instance_id=case.id,
        kind=kind,
        token_hash=hash_token(status_token(secret_key, seed)),
        link_seed=seed,
        submitted_at=case.started_at or clock.now(),
    )
    session.add(row)
    session.flush()
    return row
