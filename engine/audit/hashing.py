"""The canonical form of an audit event and its SHA-256: one recipe for writing and verifying."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

#: The chain of events that belong to no case (log-ins, account changes).
SYSTEM_CHAIN = "system"


def chain_of(instance_id: int | None) -> str:
    """The name of the chain an event of ``instance_id`` belongs to."""
    return SYSTEM_CHAIN if instance_id is None else f"case:{instance_id}"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant space, as the database hands the value back.

    Round-tripping first makes the text what a JSON column returns (tuples become lists,
    integer keys become strings), so a hash computed before the INSERT matches one computed
    from the stored row.
    """
    normal = json.loads(json.dumps(value, ensure_ascii=False))
    return json.dumps(normal, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def timestamp(at: datetime) -> str:
    """A time as UTC ISO text to the microsecond (what both databases keep)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_digest(
    *,
    instance_id: int | None,
    task_id: str | None,
    element_id: str | None,
    actor: str | None,
    action: str,
    at: datetime,
    data: Any,
    prev_hash: str | None,
) -> str:
    """The SHA-256 (hex) of one event's content and its predecessor's hash."""
    body = canonical_json(
        {
            "instance_id": instance_id,
            "task_id": task_id,
            "element_id": element_id,
            "actor": actor,
            "action": action,
            "at": timestamp(at),
            "data": data,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def day_digest(heads: list[tuple[str, int, str]]) -> str:
    """The SHA-256 over one day's chain heads: ``(chain, last event id, its hash)``, sorted."""
    text = "".join(f"{chain}\t{event_id}\t{digest}\n" for chain, event_id, digest in sorted(heads))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
