"""Archive bundles: one case as a self-contained zip an inspector can verify without afterflow.

The bundle holds the issued documents as issued, the files attached to the case, the record as
JSON (the case row, its data, its tasks, comments and legal holds), the audit events, and a
manifest naming every file with its SHA-256 — plus ``manifest.sha256``, the hash of the
manifest itself. ``scripts/archive-verify.py`` checks all of it with the Python standard library
alone. Each issued document's hash in the manifest is also the one recorded when it was issued,
so a document changed in the database before the export shows as a mismatch too.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import NotFound
from engine.records.models import IssuedDocument, LegalHold
from engine.records.signature_rows import signatures_of
from engine.store.models import Attachment, Comment, Event, ProcessInstance, Task

FORMAT = "afterflow-archive/1"
#: Zip members carry one fixed time, so the same record exports to the same bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
README = """afterflow archive of {number}

manifest.json lists every file of this bundle with its SHA-256; manifest.sha256 is the SHA-256
of manifest.json. Check the bundle with the verifier from afterflow's documentation (it needs
only Python 3):

    python3 archive-verify.py {number}.zip

It exits 0 when every file is present and unchanged, and 1 naming the first difference.
"""


@dataclass(frozen=True)
class ArchiveReport:
    """What an export wrote."""

    path: Path
    files: int
    documents: int
    attachments: int
    events: int


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return value


def _row(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of a row (new columns included as they are added), bytes as their hash."""
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key not in skip}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"


class _Bundle:
    def __init__(self, out: zipfile.ZipFile) -> None:
        self.out = out
        self.hashes: dict[str, str] = {}

    def add(self, name: str, content: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.out.writestr(info, content)
        self.hashes[name] = hashlib.sha256(content).hexdigest()


def _record(session: Session, instance: ProcessInstance, data: Mapping[str, Any]) -> dict[str, Any]:
    """The case as JSON: its row, process version, data, tasks, comments and legal holds."""
    tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id).order_by(Task.created_at, Task.id)
    )
    comments = session.scalars(select(Comment).where(Comment.instance_id == instance.id).order_by(Comment.id))
    holds = session.scalars(select(LegalHold).where(LegalHold.business_number == instance.business_number))
    return {
        "case": _row(instance, skip=("state", "state_seq", "state_changes")),
        "process": {
            "key": instance.process_key,
            "name": instance.definition.name,
            "version": instance.definition.version,
        },
        "data": dict(data),
        "tasks": [_row(t, skip=("draft",)) for t in tasks],
        "comments": [_row(c) for c in comments],
        "legal_holds": [_row(h) for h in holds],
    }


def _add_documents(session: Session, bundle: _Bundle, instance_id: int) -> list[dict[str, Any]]:
    listed = []
    for document in session.scalars(
        select(IssuedDocument).where(IssuedDocument.instance_id == instance_id).order_by(IssuedDocument.id)
    ):
        name = f"documents/{_safe_name(document.number)}-v{document.version}.pdf"
        bundle.add(name, document.content)
        listed.append(
            {
                "file": name,
                "number": document.number,
                "kind": document.kind,
                "title": document.title,
                "version": document.version,
                "issued_by": document.issued_by,
                "issued_at": document.issued_at.isoformat(),
                "sha256": document.sha256,
            }
        )
    return listed


def _add_attachments(session: Session, bundle: _Bundle, instance_id: int) -> int:
    count = 0
    for attachment in session.scalars(
        select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id)
    ):
        bundle.add(f"attachments/{attachment.id}-{_safe_name(attachment.filename)}", attachment.content)
        count += 1
    return count


def _add_signatures(session: Session, bundle: _Bundle, instance_id: int) -> None:
    """The case's signatures: their rows as JSON, each drawn image as its own file."""
    rows = signatures_of(session, instance_id)
    if not rows:
        return
    listed = []
    for row in rows:
        image = row.pop("image", None)
        if isinstance(image, bytes) and image:
            row["image_file"] = f"signatures/{row['id']}.png"
            bundle.add(row["image_file"], image)
        listed.append({key: _plain(value) for key, value in row.items()})
    bundle.add("signatures.json", _json(listed))


def _close(
    out: zipfile.ZipFile, bundle: _Bundle, business_number: str, documents: list[dict[str, Any]]
) -> None:
    """Write the manifest of every file's hash, and the hash of the manifest."""
    manifest = {
        "format": FORMAT,
        "business_number": business_number,
        "exported_at": clock.now().isoformat(),
        "files": dict(sorted(bundle.hashes.items())),
        "documents": documents,
    }
    manifest_bytes = _json(manifest)
    out.writestr(zipfile.ZipInfo("manifest.json", date_time=ZIP_TIME), manifest_bytes)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    out.writestr(
        zipfile.ZipInfo("manifest.sha256", date_time=ZIP_TIME), f"{digest}  manifest.json\n".encode()
    )


def export_case(
    session: Session, business_number: str, out_path: Path, data: Mapping[str, Any] | None = None
) -> ArchiveReport:
    """Write one case's archive bundle to ``out_path``; ``data`` is the case data as the domain reads it."""
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.business_number == business_number)
    )
    if instance is None:
        raise NotFound(f"no case {business_number}")
    events = [
        _row(e)
        for e in session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id))
    ]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out_path, "w") as out:
        bundle = _Bundle(out)
        bundle.add("README.txt", README.format(number=business_number).encode("utf-8"))
        bundle.add("record.json", _json(_record(session, instance, data or {})))
        bundle.add("events.json", _json(events))
        documents = _add_documents(session, bundle, instance.id)
        attachments = _add_attachments(session, bundle, instance.id)
        _add_signatures(session, bundle, instance.id)
        _close(out, bundle, business_number, documents)
    return ArchiveReport(out_path, len(bundle.hashes) + 2, len(documents), attachments, len(events))
