"""Audit events and signatures are written once: no code path updates or deletes them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Statements that would change an audit event or a signature after it was written.
CHANGES = re.compile(
    r"\b(update|delete)\(\s*(Event|Signature)\b"
    r"|\b(Event|Signature)\.__table__\.(update|delete)\b"
    r"|\bsession\.delete\(\s*(event|signature)\w*\s*\)"
    r"|\b(UPDATE|DELETE\s+FROM)\s+(event|signature)\b",
    re.IGNORECASE,
)


def test_no_code_updates_or_deletes_audit_events_or_signatures() -> None:
    found = []
    for folder in ("engine", "processes", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if CHANGES.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_pattern_finds_what_it_looks_for() -> None:
    for statement in (
        "session.execute(update(Event).values(actor='x'))",
        "conn.execute(Signature.__table__.delete())",
        "text('DELETE FROM event WHERE id = 1')",
    ):
        assert CHANGES.search(statement), statement
    assert not CHANGES.search("session.execute(update(Task).values(state='done'))")
