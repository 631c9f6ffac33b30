"""Tables: users, deployed definitions, instances with their serialized state, and projections.

Queries read the projection tables (``task``, ``job``, ``event`` and the list fields on
``process_instance``); only commands deserialize a workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from engine.store.compressed_text import CompressedText
from engine.store.database import Base


class HexDigest(TypeDecorator[str]):
    """A SHA-256: its 64 hex digits in Python, its 32 bytes in the database.

    Each audit event holds two (its own and its predecessor's); as bytes they take half the room.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | memoryview | str | None, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):  # SQLite hands back text written by hand as it is
            return value
        return bytes(value).hex()


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC; always hand back timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_keys(self) -> frozenset[str]:
        """Return the keys of the roles this user holds."""
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    user: Mapped[User] = relationship(back_populates="roles")


class LoginThrottle(Base):
    """Failed log-ins counted per account or per client address, and the lock-out they caused.

    Kept in the database so every web process of a deployment counts the same failures.
    """

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessDefinition(Base):
    """One deployed version of one process: its source files, parsed spec and task metadata."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    checksum: Mapped[str] = mapped_column(String(64))
    # Large (hundreds of kilobytes): loaded only when asked, never with the rows that point here.
    files: Mapped[dict[str, str]] = mapped_column(JSON, deferred=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    change_summary: Mapped[str | None] = mapped_column(Text)


class ProcessInstance(Base):
    """A case: its serialized workflow state plus the fields every list shows."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_instance_status_started", "status", "started_at"),
        # Covers what the inbox filters read of a case, so they need not touch the row (whose
        # serialized state makes it wide).
        Index(
            "ix_instance_list", "status", "process_key", "priority", "business_number", "customer_name", "id"
        ),
        # Covers what a read model that follows cases by version compares and reads of every case.
        Index(
            "ix_instance_version",
            "id",
            "lock_version",
            "status",
            "process_key",
            "parent_instance_id",
            "ended_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_number: Mapped[str] = mapped_column(String(32), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16))
    #: The last snapshot of the serialized workflow (``engine.store.serialization``), stored
    #: compressed; the changes saved since follow in ``state_change``. Read the case's state with
    #: ``engine.store.state_store`` (snapshot and changes together), never from this column alone.
    state: Mapped[str] = mapped_column(CompressedText, deferred=True)
    #: The number of the last save of the state (snapshot or change); moves with every command.
    state_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: How many changes (``state_change`` rows, numbered up to ``state_seq``) follow the snapshot.
    state_changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    error_element: Mapped[str | None] = mapped_column(String(256))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_name: Mapped[str | None] = mapped_column(String(256))
    product: Mapped[str | None] = mapped_column(String(256))
    priority: Mapped[str | None] = mapped_column(String(32))
    current_step: Mapped[str | None] = mapped_column(String(512))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: What task pages show of the case without reading its state: the case-data keys the product
    #: names (``EngineConfig.fact_keys``) as they stand now, and the rules its decisions chose.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    #: The head of the case's audit chain (``engine.audit.chain``): how many events it has, and
    #: the last one's id and hash — moved in the same UPDATE that saves the case.
    audit_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audit_last_event_id: Mapped[int | None] = mapped_column(Integer)
    audit_last_hash: Mapped[str | None] = mapped_column(HexDigest())
    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")

    # Optimistic concurrency: every UPDATE checks the version it read and bumps it.
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class StateChange(Base):
    """What one command changed in its case's workflow state since the save before (``engine.store.state_delta``).

    ``body`` is the change's JSON, zlib-compressed with what precedes it (the snapshot and the
    changes before) as the dictionary: read it with ``engine.store.state_store``.
    """

    __tablename__ = "state_change"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)


def _where(condition: str) -> dict[str, Any]:
    """The keyword arguments that make an index partial on both databases."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


_OPEN = "state = 'open'"
_OFFERED = "state = 'open' AND assignee IS NULL"
_COMPLETED = "state = 'completed'"


class Task(Base):
    """Projection of one human task (one row per SpiffWorkflow task that reached READY).

    The inbox tabs read covering indexes, so counting a tab reads no task row. Each holds the
    tasks of one state only: a task is inserted open and updated once when it ends, so a full
    index would keep an entry for each of its states, and the open tasks' indexes would grow with
    every task ever done. A query uses them by naming the state as ``OPEN_TASK`` or ``DONE_TASK``.
    The state is their last column all the same: SQLite reads a row to check a term on a column
    its index lacks, even one the index's own condition settles.
    """

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_offered", "role", "due_at", "instance_id", "assignee", "state", **_where(_OFFERED)),
        Index("ix_task_assigned", "assignee", "due_at", "instance_id", "state", **_where(_OPEN)),
        Index("ix_task_open_due", "due_at", "instance_id", "state", **_where(_OPEN)),
        Index("ix_task_done", "completed_by", "completed_at", "due_at", "state", **_where(_COMPLETED)),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    spec_id: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str | None] = mapped_column(String(64))
    form_key: Mapped[str | None] = mapped_column(String(128))
    assignee: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How a working-time due time was counted (start, amount, unit), so a calendar change re-times it.
    due_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    instance: Mapped[ProcessInstance] = relationship(lazy="joined")


#: The open tasks and the completed ones, with the state written into the SQL rather than bound:
#: PostgreSQL can use a partial index in a prepared statement's generic plan only when the
#: statement itself names the index's state.
OPEN_TASK: ColumnElement[bool] = Task.state == literal_column("'open'")
DONE_TASK: ColumnElement[bool] = Task.state == literal_column("'completed'")


class Job(Base):
    """A due timer (or other deferred work) of an instance, claimed by one runner at a time.

    ``ix_job_open_due`` holds the open jobs only: a done job leaves it.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_open_due", "due_at", **_where("done_at IS NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(256))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    """Append-only audit log: who did what to which case, when, with which data."""

    __tablename__ = "event"
    __table_args__ = (
        # KPIs read completions of particular steps across all cases ...
        Index("ix_event_action_element", "action", "element_id"),
        # ... and of particular cases (the KPI read model's refresh); timelines read one case's.
        Index("ix_event_instance_action", "instance_id", "action", "element_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(256))
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The tamper-evident chain (engine/audit): the predecessor's hash and this event's own,
    # filled in by the flush that inserts the row; an event row is never updated.
    prev_hash: Mapped[str | None] = mapped_column(HexDigest())
    hash: Mapped[str | None] = mapped_column(HexDigest())


class SlaBreach(Base):
    """A service-level limit a case missed: which limit, on which step, due when, noticed when."""

    __tablename__ = "sla_breach"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    sla: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(256))
    task_element_id: Mapped[str | None] = mapped_column(String(256))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class BusinessNumberCounter(Base):
    """Last sequence number handed out per prefix and day."""

    __tablename__ = "business_number_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Comment(Base):
    """A note someone wrote on a case while working one of its tasks; never edited, never deleted."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_instance_created", "instance_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attachment(Base):
    """A file added to a case: its bytes are kept in the database with what identifies them."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_instance_uploaded", "instance_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: lists of attachments must not read megabytes of file content.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DefinitionDraft(Base):
    """A process owner's own unsaved edit of a process: kept until deployed or discarded.

    One per process and author; ``seen_at`` is the last heartbeat of the author's open editor.
    """

    __tablename__ = "process_draft"
    __table_args__ = (UniqueConstraint("process_key", "author", name="uq_process_draft_author"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    author: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    base_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# The calendar's tables live with the calendar; importing them here registers them with every
# user of the models (the schema test, the test database's clean-up).
# The tables of engine sub-packages, so that Base.metadata (tests, tooling) knows every table.
from engine.accounts import access_tokens as _access_tokens  # noqa: E402, F401
from engine.audit import chain as _audit_chain  # noqa: E402, F401  (links every new event)
from engine.calendar import tables as _calendar_tables  # noqa: E402, F401
from engine.outbox import models as _outbox_models  # noqa: E402, F401
from engine.records import models as _records_models  # noqa: E402, F401
from engine.signatures import records as _signature_records  # noqa: E402, F401
from engine.webhooks import models as _webhook_models  # noqa: E402, F401
