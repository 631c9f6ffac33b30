"""Form data handed to a command, checked against the version's form before anything changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.definitions.forms import validate_submission
from engine.runtime import versions
from engine.store.models import ProcessDefinition, User, UserRole

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def validate_form(
    engine: Engine, definition: ProcessDefinition, form_key: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the clean values of a submission, or raise ``FormInvalid`` naming each wrong field."""
    form = versions.form_of(engine, definition, form_key)
    # A field whose options are "the users holding role R" accepts exactly those users.
    dynamic = {f.key: role_users(engine, f.options_from_role) for f in form.fields if f.options_from_role}
    return validate_submission(form, data, dynamic_options=dynamic)


def role_users(engine: Engine, role: str) -> list[str]:
    """Return the names of active users holding a role."""
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(User.username)
                .join(UserRole)
                .where(UserRole.role == role, User.active.is_(True))
                .order_by(User.username)
            )
        )
