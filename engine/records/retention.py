"""Retention: how long each kind of record is kept, legal holds, and the one audited way to purge.

A policy per record kind (``case`` per process, ``document``, ``signature``, ``attachment``)
keeps a record for some years after it was made or closed, and — where the record concerns a
product with an expiry date — at least some years past that expiry. A case is due for purging
when it has ended and every record of it has passed its keep-until date. A case under a legal
hold is never due. Nothing leaves the database except through ``purge_case``: it re-checks all
of that, removes the case and everything hanging on it, and writes a tombstone listing what was
removed (with the hashes of the documents and files) signed by HMAC-SHA256 with the secret key,
so a later reader can prove the tombstone is the one the purge wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.hashing import chain_of
from engine.audit.tables import AuditChain
from engine.errors import EngineError, NotFound
from engine.records.models import IssuedDocument, LegalHold, PurgeTombstone, RetentionPolicy
from engine.records.signature_rows import signatures_of
from engine.store.database import Base
from engine.store.models import Attachment, Event, ProcessInstance
from engine.store.state_store import state_text

RECORD_KINDS = ("case", "document", "signature", "attachment")
MIN_YEARS = 1
MAX_YEARS = 100
#: Looks up the expiry date of the product a case concerns (None when it names none).
ExpiryLookup = Callable[[Session, ProcessInstance], date | None]


class RetentionRefused(EngineError):
    """A retention command was refused; ``reason`` says why."""

    code = "retention_refused"

    def __init__(self, message: str, reason: str, **details: Any) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason


@dataclass(frozen=True)
class PolicyRule:
    """A retention rule as data: a record kind (and process), years, and years past the product's expiry."""

    record_kind: str
    process_key: str
    years: int
    years_past_expiry: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class RecordRetention:
    """One record of a case and until when it is kept."""

    kind: str
    label: str
    made_at: datetime
    keep_until: datetime
    rule: PolicyRule | None


@dataclass
class CaseRetention:
    """A case, its records, whether a hold stops a purge, and whether it is due."""

    instance_id: int
    business_number: str
    process_key: str
    status: str
    ended_at: datetime | None
    expiry: date | None
    records: list[RecordRetention] = field(default_factory=list)
    held: bool = False

    @property
    def keep_until(self) -> datetime | None:
        """The day the last of its records may go; None while the case is open or a record has no rule."""
        if self.ended_at is None or not self.records or any(r.rule is None for r in self.records):
            return None
        return max(r.keep_until for r in self.records)

    def due(self, now: datetime) -> bool:
        """Ended, every record past its keep-until date, and under no legal hold."""
        keep_until = self.keep_until
        return not self.held and keep_until is not None and keep_until <= now


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


# --- policies ----------------------------------------------------------------------------------


def rules(session: Session) -> list[PolicyRule]:
    """Every retention rule, by record kind and process."""
    rows = session.scalars(
        select(RetentionPolicy).order_by(RetentionPolicy.record_kind, RetentionPolicy.process_key)
    )
    return [PolicyRule(r.record_kind, r.process_key, r.years, r.years_past_expiry, r.source) for r in rows]


def seed_rules(session: Session, defaults: Iterable[PolicyRule]) -> int:
    """Add the default rules that are not in the table yet (an edited rule is kept); return how many."""
    have = {(r.record_kind, r.process_key) for r in rules(session)}
    added = 0
    for rule in defaults:
        if (rule.record_kind, rule.process_key) not in have:
            session.add(
                RetentionPolicy(
                    record_kind=rule.record_kind,
                    process_key=rule.process_key,
                    years=rule.years,
                    years_past_expiry=rule.years_past_expiry,
                    source=rule.source,
                    updated_by=None,
                    updated_at=clock.now(),
                )
            )
            added += 1
    session.flush()
    return added


def set_rule(session: Session, rule: PolicyRule, actor: str) -> None:
    """Create or change a rule after checking it; audited."""
    if rule.record_kind not in RECORD_KINDS:
        raise RetentionRefused(f"unknown record kind {rule.record_kind!r}", "kind", kind=rule.record_kind)
    if not MIN_YEARS <= rule.years <= MAX_YEARS:
        raise RetentionRefused(f"keep between {MIN_YEARS} and {MAX_YEARS} years", "years", years=rule.years)
    if rule.years_past_expiry is not None and not 0 <= rule.years_past_expiry <= MAX_YEARS:
        raise RetentionRefused(
            "years past expiry must be between 0 and 100", "years", years=rule.years_past_expiry
        )
    row = session.scalar(
        select(RetentionPolicy).where(
            RetentionPolicy.record_kind == rule.record_kind, RetentionPolicy.process_key == rule.process_key
        )
    )
    before = None
    if row is None:
        row = RetentionPolicy(record_kind=rule.record_kind, process_key=rule.process_key)
        session.add(row)
    else:
        before = {"years": row.years, "years_past_expiry": row.years_past_expiry}
    row.years, row.years_past_expiry = rule.years, rule.years_past_expiry
    row.source = rule.source if rule.source is not None else row.source
    row.updated_by, row.updated_at = actor, clock.now()
    session.add(
        Event(
            instance_id=None,
            actor=actor,
            action="retention_rule_set",
            at=row.updated_at,
            data={
                "record_kind": rule.record_kind,
                "process_key": rule.process_key,
                "years": rule.years,
                "years_past_expiry": rule.years_past_expiry,
                "before": before,
            },
        )
    )
    session.flush()


def rule_for(all_rules: Sequence[PolicyRule], kind: str, process_key: str) -> PolicyRule | None:
    """The rule for a kind of record of a process: the process's own, else the kind's general one."""
    general = None
    for rule in all_rules:
        if rule.record_kind == kind and rule.process_key == process_key:
            return rule
        if rule.record_kind == kind and rule.process_key == "":
            general = rule
    return general


def _keep_until(made_at: datetime, rule: PolicyRule | None, expiry: date | None, tz: tzinfo) -> datetime:
    if rule is None:
        return datetime.max.replace(tzinfo=made_at.tzinfo)
    until = _add_years(made_at, rule.years)
    if rule.years_past_expiry is not None and expiry is not None:
        past_expiry = datetime.combine(expiry, time.min, tz)
        until = max(until, _add_years(past_expiry, rule.years_past_expiry))
    return until


# --- holds -------------------------------------------------------------------------------------


def _case(session: Session, business_number: str) -> ProcessInstance:
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.business_number == business_number)
    )
    if instance is None:
        raise NotFound(f"no case {business_number}")
    return instance


def active_holds(session: Session, business_number: str) -> list[LegalHold]:
    """The holds on a case not yet released."""
    return list(
        session.scalars(
            select(LegalHold)
            .where(LegalHold.business_number == business_number, LegalHold.released_at.is_(None))
            .order_by(LegalHold.id)
        )
    )


def set_hold(session: Session, business_number: str, reason: str, actor: str) -> LegalHold:
    """Put a case under a legal hold (a reason is required); audited on the case."""
    reason = reason.strip()
    if not reason:
        raise RetentionRefused("a legal hold needs a reason", "reason")
    instance = _case(session, business_number)
    now = clock.now()
    hold = LegalHold(business_number=business_number, reason=reason, set_by=actor, set_at=now)
    session.add(hold)
    session.flush()
    session.add(
        Event(
            instance_id=instance.id,
            actor=actor,
            action="legal_hold_set",
            at=now,
            data={"hold_id": hold.id, "reason": reason},
        )
    )
    return hold


def release_holds(session: Session, business_number: str, reason: str, actor: str) -> int:
    """Release every active hold on a case (a reason is required); audited; return how many."""
    reason = reason.strip()
    if not reason:
        raise RetentionRefused("releasing a legal hold needs a reason", "reason")
    instance = _case(session, business_number)
    holds = active_holds(session, business_number)
    if not holds:
        raise RetentionRefused(f"{business_number} is under no legal hold", "no_hold")
    now = clock.now()
    for hold in holds:
        hold.released_by, hold.released_at, hold.release_reason = actor, now, reason
    session.add(
        Event(
            instance_id=instance.id,
            actor=actor,
            action="legal_hold_released",
            at=now,
            data={"hold_ids": [h.id for h in holds], "reason": reason},
        )
    )
    session.flush()
    return len(holds)


# --- the report --------------------------------------------------------------------------------


def case_retention(
    session: Session,
    instance: ProcessInstance,
    all_rules: Sequence[PolicyRule],
    expiry_of: ExpiryLookup,
    tz: tzinfo,
) -> CaseRetention:
    """Every record of one case with its keep-until date, and whether a hold is on it."""
    needs_expiry = any(r.years_past_expiry is not None for r in all_rules)
    expiry = expiry_of(session, instance) if needs_expiry and instance.ended_at is not None else None
    item = CaseRetention(
        instance.id,
        instance.business_number,
        instance.process_key,
        instance.status,
        instance.ended_at,
        expiry,
    )
    item.held = bool(active_holds(session, instance.business_number))
    if instance.ended_at is None:
        return item

    def add(kind: str, label: str, made_at: datetime) -> None:
        rule = rule_for(all_rules, kind, instance.process_key)
        item.records.append(
            RecordRetention(kind, label, made_at, _keep_until(made_at, rule, expiry, tz), rule)
        )

    add("case", instance.business_number, instance.ended_at)
    for number, issued_at in session.execute(
        select(IssuedDocument.number, IssuedDocument.issued_at).where(
            IssuedDocument.instance_id == instance.id
        )
    ):
        add("document", number, issued_at)
    for name, uploaded_at in session.execute(
        select(Attachment.filename, Attachment.uploaded_at).where(Attachment.instance_id == instance.id)
    ):
        add("attachment", name, uploaded_at)
    for signature in signatures_of(session, instance.id):
        add("signature", f"signature {signature['id']}", signature["signed_at"])
    return item


def retention_report(
    session: Session, expiry_of: ExpiryLookup, tz: tzinfo, due_only: bool = True
) -> list[CaseRetention]:
    """The ended cases with their keep-until dates; by default only those due for purging now."""
    all_rules = rules(session)
    now = clock.now()
    out = []
    for instance in session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.ended_at.is_not(None))
        .order_by(ProcessInstance.ended_at)
    ):
        item = case_retention(session, instance, all_rules, expiry_of, tz)
        if not due_only or item.due(now):
            out.append(item)
    return out


# --- purge and tombstones ----------------------------------------------------------------------


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def tombstone_signature(
    secret: str | bytes, business_number: str, purged_by: str, purged_at: datetime, summary: Any
) -> str:
    """HMAC-SHA256 over what a tombstone says, with the installation's secret key."""
    key = secret.encode() if isinstance(secret, str) else secret
    body = _canonical(
        {
            "business_number": business_number,
            "purged_by": purged_by,
            "purged_at": purged_at.isoformat(),
            "summary": summary,
        }
    )
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _tables_of_a_case() -> list[tuple[Table, str]]:
    """Every table with a column pointing at a case, children first (the case's own row last)."""
    found = []
    for table in reversed(Base.metadata.sorted_tables):
        for column in table.columns:
            for key in column.foreign_keys:
                if key.column.table.name == "process_instance" and table.name != "process_instance":
                    found.append((table, column.name))
    return found


def _day_heads(events: Sequence[Event]) -> dict[str, list[Any]]:
    heads: dict[str, list[Any]] = {}
    for event in events:
        heads[event.at.astimezone(UTC).date().isoformat()] = [
            chain_of(event.instance_id),
            event.id,
            event.hash,
        ]
    return heads


def _summary(session: Session, item: CaseRetention, instance: ProcessInstance) -> dict[str, Any]:
    events = list(session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id)))
    trail = [[e.id, e.action, e.actor, e.at.isoformat(), e.data] for e in events]
    # Where events are hash-chained, the tombstone names the end of the case's chain it closes.
    last = events[-1] if events else None
    documents = session.execute(
        select(IssuedDocument.number, IssuedDocument.kind, IssuedDocument.version, IssuedDocument.sha256)
        .where(IssuedDocument.instance_id == instance.id)
        .order_by(IssuedDocument.id)
    ).all()
    files = session.execute(
        select(Attachment.filename, Attachment.sha256)
        .where(Attachment.instance_id == instance.id)
        .order_by(Attachment.id)
    ).all()
    return {
        "process_key": instance.process_key,
        "status": instance.status,
        "started_at": instance.started_at.isoformat(),
        "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
        "expiry": item.expiry.isoformat() if item.expiry else None,
        "keep_until": item.keep_until.isoformat() if item.keep_until else None,
        "rules": sorted(
            {
                (r.kind, r.rule.years, r.rule.years_past_expiry or 0, r.rule.process_key)
                for r in item.records
                if r.rule is not None
            }
        ),
        "documents": [[d.number, d.kind, d.version, d.sha256] for d in documents],
        "attachments": [[f.filename, f.sha256] for f in files],
        "signatures": [[row["id"], row.get("sha256")] for row in signatures_of(session, instance.id)],
        "events": len(trail),
        "events_sha256": hashlib.sha256(_canonical(trail)).hexdigest(),
        "last_event": {"id": last.id, "hash": last.hash} if last else None,
        # Per day (UTC), the case's last event then: what the sealed day anchors counted of it.
        "day_heads": _day_heads(events),
        "state_sha256": hashlib.sha256(state_text(session, instance).encode()).hexdigest(),
    }


def purge_case(
    session: Session,
    business_number: str,
    actor: str,
    secret: str | bytes,
    expiry_of: ExpiryLookup,
    tz: tzinfo,
) -> PurgeTombstone:
    """Remove a case that is due, with everything recorded on it; keep a signed tombstone; audited."""
    instance = _case(session, business_number)
    item = case_retention(session, instance, rules(session), expiry_of, tz)
    now = clock.now()
    if item.held:
        raise RetentionRefused(f"{business_number} is under a legal hold", "held")
    if item.ended_at is None:
        raise RetentionRefused(f"{business_number} has not ended", "open")
    keep_until = item.keep_until
    if keep_until is None or keep_until > now:
        raise RetentionRefused(
            f"{business_number} is kept until {keep_until.date() if keep_until else 'a rule covers it'}",
            "not_due",
            keep_until=keep_until,
        )
    summary = _summary(session, item, instance)
    for table, column in _tables_of_a_case():
        session.execute(delete(table).where(table.c[column] == instance.id))
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.parent_instance_id == instance.id)
        .values(parent_instance_id=None)
    )
    session.execute(delete(ProcessInstance).where(ProcessInstance.id == instance.id))
    # The case's chain ends with the case: the tombstone names its last event and hash.
    session.execute(delete(AuditChain).where(AuditChain.chain == chain_of(instance.id)))
    tombstone = PurgeTombstone(
        business_number=business_number,
        purged_by=actor,
        purged_at=now,
        summary=summary,
        signature=tombstone_signature(secret, business_number, actor, now, summary),
    )
    session.add(tombstone)
    session.flush()
    session.add(
        Event(
            instance_id=None,
            actor=actor,
            action="case_purged",
            at=now,
            data={
                "business_number": business_number,
                "tombstone_id": tombstone.id,
                "signature": tombstone.signature,
            },
        )
    )
    return tombstone


def verify_tombstones(session: Session, secret: str | bytes) -> tuple[int, list[str]]:
    """Re-sign every tombstone; return how many were checked and the business numbers that do not match."""
    checked = 0
    broken = []
    for row in session.scalars(select(PurgeTombstone).order_by(PurgeTombstone.id)):
        checked += 1
        expected = tombstone_signature(secret, row.business_number, row.purged_by, row.purged_at, row.summary)
        if not hmac.compare_digest(expected, row.signature):
            broken.append(row.business_number)
    return checked, broken
