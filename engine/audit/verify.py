"""Check the audit trail, and every other record kind that registers a verifier.

`verify` walks every chain (or one case's), recomputes each event's hash, follows the links,
compares each chain's end with its head and each sealed day with its anchor. Other record
kinds (issued documents, signatures) plug in with `register_verifier`; the command runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.days import heads_of_day
from engine.audit.hashing import chain_of, day_digest, event_digest
from engine.audit.heads import Head, chain_heads
from engine.audit.tables import AuditDayHead
from engine.errors import NotFound
from engine.store.models import Event, ProcessInstance


@dataclass(frozen=True)
class Finding:
    """One break in the records: which record, of which case, and what differs (English)."""

    kind: str
    what: str
    case: str | None = None
    record_id: int | str | None = None

    def describe(self) -> str:
        """One line naming the case, the record and what differs."""
        where = [f"case {self.case}"] if self.case else []
        where.append(self.kind if self.record_id is None else f"{self.kind} {self.record_id}")
        return f"{', '.join(where)}: {self.what}"


Verifier = Callable[[Session], list[Finding]]

#: Verifiers of other record kinds, run by every full or per-case verification.
VERIFIERS: list[Verifier] = []


def register_verifier(verifier: Verifier) -> Verifier:
    """Have `verify` run ``verifier`` too (usable as a decorator)."""
    if verifier not in VERIFIERS:
        VERIFIERS.append(verifier)
    return verifier


def verify(session: Session, case_number: str | None = None) -> list[Finding]:
    """Every break found, first break first (an empty list: the records are intact)."""
    numbers: dict[int, str] = {
        row.id: row.business_number
        for row in session.execute(select(ProcessInstance.id, ProcessInstance.business_number))
    }
    instance_id: int | None = None
    if case_number is not None:
        instance_id = next((i for i, n in numbers.items() if n == case_number), None)
        if instance_id is None:
            raise NotFound(f"no case numbered {case_number}")
    breaks = check_chains(session, numbers, instance_id)
    if case_number is None:
        breaks += check_days(session)
    for verifier in VERIFIERS:
        found = verifier(session)
        breaks += [f for f in found if case_number is None or f.case == case_number]
    return breaks


class _ChainWalk:
    """What is known of one chain while its events are read in order."""

    def __init__(self, chain: str, case: str | None) -> None:
        self.chain, self.case = chain, case
        self.expected: str | None = None
        self.count = 0
        self.last_id: int | None = None


def check_chains(session: Session, numbers: dict[int, str], instance_id: int | None = None) -> list[Finding]:
    """Recompute and follow every chain (or the chain of one case)."""
    heads = chain_heads(session, instance_id)
    query = select(
        Event.id,
        Event.instance_id,
        Event.task_id,
        Event.element_id,
        Event.actor,
        Event.action,
        Event.at,
        Event.data,
        Event.prev_hash,
        Event.hash,
    ).order_by(Event.instance_id, Event.id)
    if instance_id is not None:
        query = query.where(Event.instance_id == instance_id)
    breaks: list[Finding] = []
    walked: set[str] = set()
    walk: _ChainWalk | None = None
    for row in session.execute(query.execution_options(yield_per=1000)):
        chain = chain_of(row.instance_id)
        if walk is None or walk.chain != chain:
            if walk is not None:
                breaks += _check_end(walk, heads.get(walk.chain))
            walk = _ChainWalk(chain, numbers.get(row.instance_id) if row.instance_id else None)
            walked.add(chain)
        breaks += _check_event(walk, row)
        walk.expected, walk.count, walk.last_id = row.hash, walk.count + 1, row.id
    if walk is not None:
        breaks += _check_end(walk, heads.get(walk.chain))
    closed = purged_chain_ends(session)
    for chain, head in sorted(heads.items()):
        if chain not in walked and head.length and (head.last_event_id, head.last_hash) not in closed:
            case = numbers.get(int(chain.split(":")[1])) if chain.startswith("case:") else None
            breaks.append(Finding("chain", f"its head names {head.length} events, none is left", case, chain))
    return breaks


def _check_event(walk: _ChainWalk, row: Any) -> list[Finding]:
    """One event: its link to the one before, and its content against its hash."""
    found: list[Finding] = []
    if row.prev_hash != walk.expected:
        before = f"event {walk.last_id}" if walk.last_id else "the start of the chain"
        found.append(
            Finding(
                "event",
                f"links to {_short(row.prev_hash)}, but {before} has {_short(walk.expected)}: "
                "an event before it was deleted or altered",
                walk.case,
                row.id,
            )
        )
    digest = event_digest(
        instance_id=row.instance_id,
        task_id=row.task_id,
        element_id=row.element_id,
        actor=row.actor,
        action=row.action,
        at=row.at,
        data=row.data,
        prev_hash=row.prev_hash,
    )
    if digest != row.hash:
        found.append(
            Finding(
                "event",
                f"its content ({row.action} by {row.actor or '-'} at {row.at:%Y-%m-%d %H:%M:%S}) "
                f"hashes to {_short(digest)}, not the recorded {_short(row.hash)}: the row was altered",
                walk.case,
                row.id,
            )
        )
    return found


def _check_end(walk: _ChainWalk, head: Head | None) -> list[Finding]:
    """The chain's last event and length against its head."""
    if head is None:
        return [
            Finding("chain", "it has no head: the chain was not written by afterflow", walk.case, walk.chain)
        ]
    if head.last_event_id != walk.last_id or head.last_hash != walk.expected:
        return [
            Finding(
                "chain",
                f"it should end at event {head.last_event_id} ({_short(head.last_hash)}), "
                f"but ends at event {walk.last_id}: its last events were deleted or altered",
                walk.case,
                walk.chain,
            )
        ]
    if head.length != walk.count:
        return [
            Finding(
                "chain",
                f"its head counts {head.length} events, {walk.count} are there: an event was deleted",
                walk.case,
                walk.chain,
            )
        ]
    return []


def purged_chain_ends(session: Session) -> set[tuple[int, str]]:
    """The last event (id, hash) of every case purged by the retention command, from its tombstone."""
    from engine.records.models import PurgeTombstone  # the retention records know the audit trail

    ends: set[tuple[int, str]] = set()
    for summary in session.scalars(select(PurgeTombstone.summary)):
        last = (summary or {}).get("last_event") or {}
        if last.get("id") and last.get("hash"):
            ends.add((int(last["id"]), str(last["hash"])))
    return ends


def check_days(session: Session) -> list[Finding]:
    """Recompute every sealed day's anchor from the events of that day.

    A purge (an audited command that leaves a signed tombstone) removes a case's events, so a
    day sealed before the last purge is vouched for by the tombstones, not recomputed.
    """
    from engine.records.models import PurgeTombstone

    breaks: list[Finding] = []
    last_purge = session.scalar(select(func.max(PurgeTombstone.purged_at)))
    for anchor in session.scalars(select(AuditDayHead).order_by(AuditDayHead.day)):
        if last_purge is not None and anchor.sealed_at <= last_purge:
            continue
        heads = heads_of_day(session, date.fromisoformat(anchor.day))
        if day_digest(heads) != anchor.hash:
            breaks.append(
                Finding(
                    "day",
                    f"its anchor {_short(anchor.hash)} over {anchor.chains} chains no longer matches "
                    f"the events of that day ({len(heads)} chains): an event of that day was altered or deleted",
                    None,
                    anchor.day,
                )
            )
    return breaks


def _short(digest: str | None) -> str:
    """The first hex digits of a hash, enough to tell two apart in a message."""
    return digest[:12] if digest else "nothing"


__all__ = ["VERIFIERS", "Finding", "Verifier", "check_chains", "check_days", "register_verifier", "verify"]
