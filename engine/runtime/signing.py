"""Signatures given on completing a task: the approver's (password re-entered) and the customer's (drawn).

A task whose diagram element carries the ``signature`` property (its meaning, such as 批准 or
放行) completes only when the user re-enters their password; a form field of type
``signature`` becomes a signature record, and the case data keeps only a reference to it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from engine.accounts.users import verify_password
from engine.audit.hashing import canonical_json
from engine.definitions.forms.model import SIGNATURE_TYPE, FormDefinition
from engine.errors import SignatureNotGiven
from engine.signatures.records import APPROVAL, CUSTOMER, keep_signature
from engine.store.models import ProcessDefinition, ProcessInstance, Task, User

if TYPE_CHECKING:
    from engine.runtime.engine import Engine
    from engine.runtime.unit_of_work import CommandState


def signature_meaning(meta: dict[str, Any], element_id: str) -> str | None:
    """What signing this task means (the element's ``signature`` property), or None: not signed."""
    task = meta.get("tasks", {}).get(element_id) or {}
    meaning = task.get("signature")
    return str(meaning) if meaning else None


@dataclass(frozen=True)
class PasswordCheck:
    """A signing password checked against the user's stored hash before the command began."""

    stored: str
    matched: bool


def check_password_first(
    engine: Engine, task_id: str, username: str, password: str | None
) -> PasswordCheck | None:
    """Check the password of a signed step before the command locks its case.

    None when there is nothing to check: no password, no such task or user, or a step that is
    not signed (its password is ignored, as in the command). The hash takes tens of milliseconds
    on purpose; inside the command it would hold the case's lock that long, and on SQLite every
    other writer's turn.
    """
    if not password:
        return None
    with engine.sessions() as session:
        found = session.execute(
            select(
                Task.spec_id,
                ProcessDefinition,
                select(User.password_hash).where(User.username == username).scalar_subquery(),
            )
            .select_from(Task)
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .options(defer(ProcessDefinition.meta))
            .where(Task.id == task_id)
        ).first()
        if found is None or found[2] is None:
            return None
        spec_id, definition, stored = found
        if signature_meaning(engine.definitions.meta(definition), spec_id) is None:
            return None
    return PasswordCheck(stored, engine.config.password_matches(password, stored))


def check_approver(
    ctx: CommandState,
    row: Task,
    password: str | None,
    matches: Callable[[str, str], bool] = verify_password,
    checked: PasswordCheck | None = None,
) -> str | None:
    """Refuse a signed task without the actor's own password; return the meaning (None: not signed).

    ``matches(password, stored hash)`` is the check (``EngineConfig.password_matches``); a
    ``checked`` answer stands when it was given for the hash stored now (a password changed in
    between is checked again).
    """
    meaning = signature_meaning(ctx.meta, row.spec_id)
    if meaning is None:
        return None
    if not password:
        raise SignatureNotGiven("re-enter your password to sign this step", "missing", meaning)
    stored = ctx.session.scalar(select(User.password_hash).where(User.username == ctx.actor.username))
    if stored is None:
        matched = False
    elif checked is not None and checked.stored == stored:
        matched = checked.matched
    else:
        matched = matches(password, stored)
    if not matched:
        raise SignatureNotGiven("the password does not match; nothing was signed", "wrong", meaning)
    return meaning


def keep_approval(ctx: CommandState, row: Task, meaning: str, clean: dict[str, Any]) -> None:
    """Record the approver's signature over the data they submitted."""
    name = ctx.session.scalar(select(User.display_name).where(User.username == ctx.actor.username))
    keep_signature(
        ctx.session,
        instance_id=ctx.instance.id,
        task_id=row.id,
        element_id=row.spec_id,
        kind=APPROVAL,
        meaning=meaning,
        signer_name=name or ctx.actor.username,
        signer_username=ctx.actor.username,
        collected_by=ctx.actor.username,
        signed_data=_signed_data(ctx, row, clean),
    )


def keep_drawn_signatures(ctx: CommandState, row: Task, form: FormDefinition, clean: dict[str, Any]) -> None:
    """Store each drawn signature (or refusal) of the form; leave a reference in its place."""
    keys = [f.key for f in form.data_fields if f.type == SIGNATURE_TYPE and clean.get(f.key)]
    if not keys:
        return
    signed = _signed_data(ctx, row, {k: v for k, v in clean.items() if k not in keys})
    for key in keys:
        given = clean[key]
        image = base64.b64decode(given["image"]) if given.get("image") else None
        kept = keep_signature(
            ctx.session,
            instance_id=ctx.instance.id,
            task_id=row.id,
            element_id=row.spec_id,
            kind=CUSTOMER,
            field_key=key,
            signer_name=given.get("name") or "",
            collected_by=ctx.actor.username,
            signed_data=signed,
            image=image,
            refusal_reason=given.get("reason") if given.get("refused") else None,
        )
        clean[key] = {
            "signature_id": kept.id,
            "signer": kept.signer_name,
            "refused": kept.refused,
            "reason": kept.refusal_reason,
            "sha256": kept.sha256,
        }


def _signed_data(ctx: CommandState, row: Task, values: dict[str, Any]) -> dict[str, Any]:
    """What a signature attests: the case, the step and the values entered with it."""
    return {
        "case": ctx.instance.business_number,
        "step": row.spec_id,
        "step_name": row.name,
        "values": _jsonable(values),
    }


def _jsonable(values: dict[str, Any]) -> Any:
    """The values as a JSON column gives them back (so the signature's hash verifies later)."""
    return json.loads(canonical_json(values))
