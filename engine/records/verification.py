"""Issued documents take part in ``afterflow audit verify``: each altered or deleted one is a break."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.audit.verify import Finding, register_verifier
from engine.records.issued_documents import verify_documents


@register_verifier
def issued_documents_intact(session: Session) -> list[Finding]:
    """Every stored document hashes to its recorded SHA-256, and every issued one is still stored."""
    _, problems = verify_documents(session)
    findings = []
    for problem in problems:
        if problem.actual_sha256 is None:
            what = f"it was issued with SHA-256 {problem.recorded_sha256[:12]} and is no longer stored: it was deleted"
        else:
            what = (
                f"its bytes hash to {problem.actual_sha256[:12]}, not the recorded "
                f"{problem.recorded_sha256[:12]}: it was altered"
            )
        findings.append(Finding("document", what, problem.business_number, problem.number))
    return findings
