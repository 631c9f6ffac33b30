"""Comments and file attachments on a case: commands, each one audited transaction.

Neither touches the workflow: a comment or a file is a record next to the case, so the
commands insert a row and an audit event without loading the serialized state. Both are
refused to anyone who may not see the task they are added on.

Files are checked twice: the name must end in an allowed extension and the content must
look like that kind of file (its signature, or for text, decodable text without control
bytes). A PDF renamed ``.png`` or a program renamed ``.txt`` is refused. The stored content
type is the one the check found, never what the browser claimed.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import EngineError, NotFound, PermissionDenied
from engine.models import Attachment, Comment, Event, ProcessInstance, Task
from engine.operations.command_log import observed
from engine.queries import may_see_case, may_see_task
from engine.runtime import Engine
from engine.users import Actor

MAX_COMMENT_LENGTH = 2000
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_FILENAME_LENGTH = 255

#: Allowed file name extensions and the content type each is stored and served with.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
    "csv": "text/csv",
}
ALLOWED_EXTENSIONS = ("pdf", "png", "jpg", "xlsx", "docx", "txt", "csv")


class CommentRefused(EngineError):
    """A comment was empty or too long; ``reason`` says which ("empty", "too_long")."""

    code = "comment_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class AttachmentRefused(EngineError):
    """A file was refused; ``reason`` is "empty", "too_large", "type" (extension) or "content"."""

    code = "attachment_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredFile:
    """A file to hand out: what it is and its bytes."""

    id: int
    instance_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes


class Collaboration:
    """Commands adding comments and files to cases, and reading a file back, with access checks."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def overseers(self) -> frozenset[str]:
        """The roles that may see every task: those who assign work to others."""
        return self.engine.config.assigner_roles

    @observed("add_comment")
    def add_comment(self, instance_id: int, task_id: str, body: str, actor: Actor) -> int:
        """Add a comment to a case on one of its tasks; return the comment's id."""
        text = body.strip()
        if not text:
            raise CommentRefused("a comment needs some text", reason="empty")
        if len(text) > MAX_COMMENT_LENGTH:
            raise CommentRefused(
                f"a comment may have at most {MAX_COMMENT_LENGTH} characters", reason="too_long"
            )
        with self.engine.writer.begin() as session:
            task = self._visible_task(session, instance_id, task_id, actor)
            now = clock.now()
            comment = Comment(
                instance_id=instance_id, task_id=task.id, author=actor.username, body=text, created_at=now
            )
            session.add(comment)
            session.flush()
            _audit(
                session, task, actor, "comment_added", now, {"comment_id": comment.id, "length": len(text)}
            )
            return comment.id

    @observed("add_attachment")
    def add_attachment(
        self, instance_id: int, task_id: str, filename: str, content: bytes, actor: Actor
    ) -> int:
        """Store a file on a case after checking its size, name and content; return its id."""
        name = clean_filename(filename)
        content_type = check_file(name, content)
        digest = hashlib.sha256(content).hexdigest()
        with self.engine.writer.begin() as session:
            task = self._visible_task(session, instance_id, task_id, actor)
            now = clock.now()
            attachment = Attachment(
                instance_id=instance_id,
                task_id=task.id,
                filename=name,
                content_type=content_type,
                size=len(content),
                sha256=digest,
                content=content,
                uploaded_by=actor.username,
                uploaded_at=now,
            )
            session.add(attachment)
            session.flush()
            _audit(
                session,
                task,
                actor,
                "attachment_added",
                now,
                {
                    "attachment_id": attachment.id,
                    "filename": name,
                    "size": len(content),
                    "sha256": digest,
                    "content_type": content_type,
                },
            )
            return attachment.id

    def attachment_file(self, attachment_id: int, actor: Actor) -> StoredFile:
        """Return a stored file for download by someone who may see its case."""
        with self.engine.sessions() as session:
            found = session.execute(
                select(
                    Attachment.id,
                    Attachment.instance_id,
                    Attachment.filename,
                    Attachment.content_type,
                    Attachment.size,
                    Attachment.sha256,
                ).where(Attachment.id == attachment_id)
            ).one_or_none()
            if found is None:
                raise NotFound("no such attachment")
            if not may_see_case(session, found.instance_id, actor, self.overseers):
                raise PermissionDenied("this file belongs to a case you do not work on")
            content = session.scalar(select(Attachment.content).where(Attachment.id == attachment_id))
            return StoredFile(*found, content=bytes(content or b""))

    def _visible_task(self, session: Session, instance_id: int, task_id: str, actor: Actor) -> Task:
        task = session.get(Task, task_id)
        if task is None or task.instance_id != instance_id:
            raise NotFound("no such task in this case")
        if not may_see_task(task, actor, self.overseers):
            raise PermissionDenied("you may not see this task")
        if session.get(ProcessInstance, instance_id) is None:  # pragma: no cover - the foreign key holds
            raise NotFound("no such case")
        return task


def clean_filename(filename: str) -> str:
    """Return the file's own name (no folders, no control characters), shortened to fit."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_FILENAME_LENGTH - len(extension) - 1
        name = f"{stem[:keep]}{dot}{extension}" if dot and keep > 0 else name[:MAX_FILENAME_LENGTH]
    return name


def extension_of(filename: str) -> str:
    """Return the lower-case extension of a file name ("" when it has none)."""
    stem, dot, extension = filename.rpartition(".")
    return extension.lower() if dot and stem else ""


def check_file(filename: str, content: bytes, allowed: Collection[str] = tuple(CONTENT_TYPES)) -> str:
    """Return the content type of an acceptable file; raise `AttachmentRefused` for any other."""
    if not content:
        raise AttachmentRefused("the file is empty", reason="empty")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise AttachmentRefused(
            f"the file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", reason="too_large"
        )
    extension = extension_of(filename)
    if extension not in allowed or extension not in CONTENT_TYPES:
        raise AttachmentRefused(f"files of type '.{extension}' are not accepted", reason="type")
    if sniff(content) != _KIND[extension]:
        raise AttachmentRefused(f"the content is not a {extension} file", reason="content")
    return CONTENT_TYPES[extension]


_KIND = {
    "pdf": "pdf",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "xlsx": "xlsx",
    "docx": "docx",
    "txt": "text",
    "csv": "text",
}


def sniff(content: bytes) -> str | None:
    """Tell what a file's bytes are: "pdf", "png", "jpeg", "xlsx", "docx", "text", or None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(b"PK\x03\x04"):
        return _office_kind(content)
    return "text" if _is_text(content) else None


def _office_kind(content: bytes) -> str | None:
    # An Office Open XML file is a zip with a content-types part and its main folder.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    if any(name.startswith("word/") for name in names):
        return "docx"
    return None


def _is_text(content: bytes) -> bool:
    # Excel in China saves CSV as GB18030 (GBK); everything else is UTF-8, with or without a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            decoded = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in decoded) and "\x7f" not in decoded
    return False


def _audit(
    session: Session, task: Task, actor: Actor, action: str, at: datetime, data: dict[str, Any]
) -> None:
    """Append the audit event of a change made on a task's case."""
    session.add(
        Event(
            instance_id=task.instance_id,
            task_id=task.id,
            element_id=task.spec_id,
            actor=actor.username,
            action=action,
            at=at,
            data=data,
        )
    )
