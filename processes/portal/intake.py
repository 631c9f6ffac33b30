"""A customer's request from the self-service page: checked as the staff form checks it, then a case.

The request starts the process at its portal start event (a message start), so it enters the
normal process: customer service confirms it against the customer and product archives in the
first task, whose form is pre-filled with what the customer wrote. The customer's photos are
stored on that task. The customer gets the case number and a private status key: an HMAC, under the app's secret
key, of a random seed kept with the request, so later notices can carry the link again; the
key itself is never stored, only its SHA-256 for look-ups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import Actor
from engine.definitions.forms import FormDefinition, validate_submission
from engine.errors import EngineError
from engine.runtime import Engine
from engine.runtime.collaboration import AttachmentRefused, Collaboration, check_file
from engine.store.models import OPEN_TASK, ProcessInstance, Task
from processes.portal.models import PortalRequest

#: The name the engine (and the audit log) sees acting for a customer on the portal.
PORTAL_USER = "portal"
#: The portal acting with customer service's role on a repair's own portal steps (the follow-up card).
PORTAL_ACTOR = Actor(PORTAL_USER, frozenset({"customer_service"}))

#: At most this many photos, each at most this large, of these kinds.
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = ("jpg", "jpeg", "png")

#: Random bytes of a request's link seed; the key is a 32-byte HMAC of it (43 URL-safe characters).
SEED_BYTES = 16
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class RequestKind:
    """One kind of request customers may submit, and where it enters which process."""

    key: str
    process_key: str
    message: str
    #: The staff form whose checks the customer's fields get.
    form_key: str
    #: The step in which the company confirms the request (pre-filled, photos attached)...
    register_step: str
    #: ...and the role that step is offered to (the portal acts with it to start and pre-fill).
    register_role: str
    #: The staff form's fields the customer fills, in the form's order.
    fields: tuple[str, ...]
    #: Values the portal sets for the customer.
    fixed: Mapping[str, Any] = field(default_factory=dict)


REPAIR = RequestKind(
    key="repair",
    process_key="repair_service",
    message="portal_repair_request",
    form_key="repair_register",
    register_step="task_register_portal",
    register_role="customer_service",
    fields=(
        "customer_name",
        "customer_phone",
        "customer_address",
        "product_model",
        "serial_number",
        "fault_description",
    ),
    fixed={"channel": "web"},
)

COMPLAINT = RequestKind(
    key="complaint",
    process_key="complaint",
    message="portal_complaint",
    form_key="complaint_receive",
    register_step="task_register_portal",
    register_role="sales",
    fields=(
        "customer_name",
        "customer_phone",
        "product_model",
        "serial_number",
        "complaint_text",
        "customer_request",
    ),
    fixed={"receive_channel": "web"},
)

KINDS: dict[str, RequestKind] = {REPAIR.key: REPAIR, COMPLAINT.key: COMPLAINT}


class PhotoRefused(EngineError):
    """A photo was refused; ``reason`` says why ("too_many", "too_large", "type", "content", "empty")."""

    code = "photo_refused"

    def __init__(self, message: str, reason: str, filename: str = "") -> None:
        super().__init__(message, reason=reason, filename=filename)
        self.reason = reason
        self.filename = filename


@dataclass(frozen=True)
class Photo:
    """A file the customer uploaded."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Submitted:
    """What the customer is told: the case number and the private status key (shown once)."""

    instance_id: int
    business_number: str
    token: str


def customer_form(engine: Engine, kind: RequestKind) -> FormDefinition:
    """Return the staff form of ``kind`` narrowed to the fields the customer fills."""
    with engine.sessions() as session:
        definition = engine.latest_definition(session, kind.process_key)
    form = engine.form_of(definition, kind.form_key)
    return replace(form, fields=tuple(f for f in form.fields if f.key in kind.fields))


def check_request(engine: Engine, kind: RequestKind, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the clean values of the customer's fields, or raise ``FormInvalid`` as the staff form would."""
    return validate_submission(customer_form(engine, kind), data)


def check_photos(photos: Sequence[Photo]) -> None:
    """Raise ``PhotoRefused`` unless every photo is a PNG or JPEG within the limits."""
    if len(photos) > MAX_PHOTOS:
        raise PhotoRefused(f"at most {MAX_PHOTOS} photos", reason="too_many")
    for photo in photos:
        if len(photo.content) > MAX_PHOTO_BYTES:
            raise PhotoRefused("the photo is too large", reason="too_large", filename=photo.filename)
        try:
            check_file(photo.filename, photo.content, allowed=PHOTO_TYPES)
        except AttachmentRefused as error:
            raise PhotoRefused(str(error), reason=error.reason, filename=photo.filename) from error


def hash_token(token: str) -> str:
    """Return the stored form of a status key."""
    return hashlib.sha256(token.encode()).hexdigest()


def status_token(secret_key: str, link_seed: str) -> str:
    """Return the private status key of the request with ``link_seed``."""
    digest = hmac.new(secret_key.encode(), f"afterflow.portal.status:{link_seed}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def request_link_token(secret_key: str, request: PortalRequest) -> str:
    """Return the status key of a stored request (for notices that carry the link again)."""
    return status_token(secret_key, request.link_seed)


def submit(
    engine: Engine,
    kind: RequestKind,
    data: Mapping[str, Any],
    photos: Sequence[Photo],
    secret_key: str,
    alongside: Callable[[Session, ProcessInstance, str], None] | None = None,
) -> Submitted:
    """Check a customer's request and photos, start its case and return the number and status key.

    Nothing is started when a field or a photo is refused. The case and its portal row are one
    transaction (with ``alongside``'s rows, given the case and its status key); the pre-filled
    registration and the photos follow on the open register step.
    """
    clean = check_request(engine, kind, data)
    check_photos(photos)
    values = {**clean, **kind.fixed}
    acting = Actor(PORTAL_USER, frozenset({kind.register_role}))
    seed = secrets.token_hex(SEED_BYTES)
    token = status_token(secret_key, seed)

    def keep_the_key(session: Session, instance: ProcessInstance) -> None:
        session.add(
            PortalRequest(
                instance_id=instance.id,
                kind=kind.key,
                token_hash=hash_token(token),
                link_seed=seed,
                submitted_at=clock.now(),
            )
        )
        if alongside is not None:
            alongside(session, instance, token)

    started = engine.start_by_message(kind.process_key, kind.message, values, acting, alongside=keep_the_key)
    register = open_step(engine, started.id, kind.register_step)
    if register is not None:
        engine.save_draft(register.id, values, acting)
        files = Collaboration(engine)
        for photo in photos:
            files.add_attachment(started.id, register.id, photo.filename, photo.content, acting)
    return Submitted(started.id, started.business_number, token)


def open_step(engine: Engine, instance_id: int, spec_id: str) -> Task | None:
    """Return the open task ``spec_id`` of a case, if it has one."""
    with engine.sessions() as session:
        return session.scalar(
            select(Task).where(Task.instance_id == instance_id, Task.spec_id == spec_id, OPEN_TASK)
        )


def find_request(engine: Engine, token: str) -> PortalRequest | None:
    """Return the request a status key opens, or None for a wrong key."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    with engine.sessions() as session:
        return session.scalar(select(PortalRequest).where(PortalRequest.token_hash == hash_token(token)))
