"""Form data handed to a command, checked against the version's form before anything changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.forms import FormDefinition, validate_submission
from engine.definitions.forms.plausibility import implausible
from engine.errors import FormInvalid
from engine.runtime import versions
from engine.store.models import ProcessDefinition, ProcessInstance, User, UserRole

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def validate_form(
    engine: Engine,
    definition: ProcessDefinition,
    form_key: str,
    data: Mapping[str, Any],
    case_data: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """Return the clean values of a submission, or raise ``FormInvalid`` naming each wrong field.

    Well-formed values are then checked against the case (``case_data``, the task's data):
    the form's plausibility bounds, and the product's checks of this form
    (``EngineConfig.form_checks``, which may read records through ``session``).
    """
    return check_form(engine, versions.form_of(engine, definition, form_key), data, case_data, session)


def check_form(
    engine: Engine,
    form: FormDefinition,
    data: Mapping[str, Any],
    case_data: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """``validate_form`` for a parsed form, deployed or not (a draft's, in a trial run)."""
    clean = _well_formed(engine, form, data)
    errors = implausible(
        form,
        clean,
        case_data or {},
        engine.script_engine.environment.evaluate,
        engine.config.calendar.timezone,
    )
    check = engine.config.form_checks.get(form.key)
    if check is not None:
        for key, found in check(clean, dict(case_data or {}), session).items():
            errors.setdefault(key, []).extend(m for m in found if m not in errors.get(key, []))
    if errors:
        raise FormInvalid(f"implausible {', '.join(sorted(errors))}: {errors}", errors)
    return clean


def _well_formed(engine: Engine, form: FormDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """The clean values of a submission checked against its form alone."""
    # A field whose options are "the users holding role R" accepts exactly those users.
    dynamic: dict[str, list[str]] = {
        f.key: role_users(engine, f.options_from_role) for f in form.fields if f.options_from_role
    }
    # A field whose options are "the cases of process P" accepts a business number of one.
    for f in form.fields:
        if f.options_from_process:
            wanted = data.get(f.key)
            dynamic[f.key] = case_numbers(engine, f.options_from_process, [wanted] if wanted else [])
    return validate_submission(form, data, dynamic_options=dynamic)


def case_numbers(
    engine: Engine, process_key: str, among: Sequence[Any] | None = None, limit: int = 200
) -> list[str]:
    """Business numbers of a process's cases: those of ``among`` that exist, else the latest ``limit``."""
    query = select(ProcessInstance.business_number).where(
        ProcessInstance.process_key == process_key, ProcessInstance.business_number.is_not(None)
    )
    if among is not None:
        wanted = [str(number) for number in among if isinstance(number, str)]
        if not wanted:
            return []
        query = query.where(ProcessInstance.business_number.in_(wanted))
    else:
        query = query.order_by(ProcessInstance.id.desc()).limit(limit)
    with engine.sessions() as session:
        return [number for number in session.scalars(query) if number]


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
