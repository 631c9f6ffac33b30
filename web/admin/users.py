"""Users and roles: list, create, disable/enable, reset a password, change roles, unlock.

Every change is an engine command in one unit of work and leaves an audit event (who, what,
when); bad input changes nothing and says why in the administrator's language.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from engine.accounts.administration import (
    ACCOUNT_EVENTS,
    PasswordRejected,
    create_account,
    list_users,
    reset_password,
    set_active,
    set_roles,
)
from engine.accounts.login_throttle import LOCKED_EVENT, UNLOCKED_EVENT, account_key
from engine.accounts.password_rules import COMMON, CONTAINS_USERNAME, MIN_LENGTH, TOO_LONG, TOO_SHORT
from engine.accounts.users import get_user
from engine.errors import EngineError, NotFound
from engine.store.models import Event
from processes.roles import ROLE_KEYS, ROLES
from web.admin.blueprint import ADMIN_ROLE, bp
from web.auth import engine, login_guard
from web.i18n import current_lang

#: How many of a user's account events the user's page lists (newest first).
HISTORY_LENGTH = 50


def role_names() -> list[tuple[str, str]]:
    """Return (key, name in the reader's language) of every role, in the order of SPEC §2."""
    lang = current_lang()
    return [(role.key, role.name_zh if lang == "zh" else role.name_en) for role in ROLES]


def password_messages(problems: list[str]) -> list[str]:
    """Say in the user's language which password rules were broken."""
    messages = {
        TOO_SHORT: _("The password needs at least %(n)s characters.", n=MIN_LENGTH),
        TOO_LONG: _("The password is too long."),
        CONTAINS_USERNAME: _("The password must not contain the user name."),
        COMMON: _("This password is too common; choose another one."),
    }
    return [messages[code] for code in problems if code in messages]


def _refused(error: EngineError) -> None:
    if isinstance(error, PasswordRejected):
        for message in password_messages(error.problems):
            flash(message, "error")
    elif isinstance(error, NotFound):
        flash(_("There is no such user."), "error")
    elif error.details.get("reason") == "self":
        flash(_("You cannot disable your own account."), "error")
    elif error.details.get("reason") == "own_admin_role":
        flash(_("You cannot take the administrator role from yourself."), "error")
    elif error.details.get("reason") == "exists":
        flash(_("A user with this name already exists."), "error")
    elif error.details.get("reason") == "unknown_role":
        flash(_("Unknown role."), "error")
    elif error.details.get("reason") == "name_length":
        flash(_("A user name needs 1 to 64 characters."), "error")
    else:
        flash(_("The user could not be saved: %(reason)s", reason=error.message), "error")


@bp.get("/users")
def users() -> Any:
    """List every user with roles, state and lock-out; the form to create one."""
    guard = login_guard()
    with engine().sessions() as session:
        people = list_users(session)
    locked = {user.username: guard.account_locked_until(user.username) for user in people}
    return render_template(
        "admin/users.html", people=people, locked=locked, roles=role_names(), min_length=MIN_LENGTH, form={}
    )


@bp.post("/users")
def create() -> Any:
    """Create a user with roles and a first password."""
    form = request.form
    username = form.get("username", "").strip()
    try:
        with engine().writer.begin() as session:
            create_account(
                session,
                username,
                form.get("password", ""),
                form.getlist("roles"),
                ROLE_KEYS,
                form.get("display_name", "").strip(),
                by=current_user.username,
            )
    except EngineError as error:
        _refused(error)
        guard = login_guard()
        with engine().sessions() as session:
            people = list_users(session)
        locked = {user.username: guard.account_locked_until(user.username) for user in people}
        page = render_template(
            "admin/users.html",
            people=people,
            locked=locked,
            roles=role_names(),
            min_length=MIN_LENGTH,
            form={
                "username": username,
                "display_name": form.get("display_name", ""),
                "roles": form.getlist("roles"),
            },
        )
        return page, 400
    flash(_("User %(name)s created.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.get("/users/<username>")
def user(username: str) -> Any:
    """One user: roles, state, lock-out, the forms to change them, and the account's history."""
    with engine().sessions() as session:
        person = get_user(session, username)  # an unknown user answers 404
        history = list(
            session.scalars(
                select(Event)
                .where(
                    Event.instance_id.is_(None),
                    Event.action.in_((*ACCOUNT_EVENTS, LOCKED_EVENT, UNLOCKED_EVENT)),
                    or_(
                        Event.data["username"].as_string() == username,
                        Event.data["key"].as_string() == account_key(username),
                    ),
                )
                .order_by(Event.at.desc(), Event.id.desc())
                .limit(HISTORY_LENGTH)
            )
        )
    return render_template(
        "admin/user.html",
        person=person,
        locked_until=login_guard().account_locked_until(username),
        roles=role_names(),
        history=history,
        min_length=MIN_LENGTH,
    )


@bp.post("/users/<username>/roles")
def change_roles(username: str) -> Any:
    """Replace a user's roles."""
    roles = request.form.getlist("roles")
    try:
        if username == current_user.username and ADMIN_ROLE not in roles:
            raise EngineError("you cannot take the administrator role from yourself", reason="own_admin_role")
        with engine().writer.begin() as session:
            set_roles(session, username, roles, ROLE_KEYS, by=current_user.username)
    except EngineError as error:
        _refused(error)
        return redirect(url_for("admin.user", username=username))
    flash(_("Roles of %(name)s saved.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/password")
def new_password(username: str) -> Any:
    """Give a user a new password (the administrator tells it to the user)."""
    try:
        with engine().writer.begin() as session:
            reset_password(session, username, request.form.get("password", ""), by=current_user.username)
    except EngineError as error:
        _refused(error)
        return redirect(url_for("admin.user", username=username))
    flash(_("The password of %(name)s was reset.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/disable")
def disable(username: str) -> Any:
    """Disable a user: no more log-ins, open sessions end at their next request."""
    return _set_active(username, False)


@bp.post("/users/<username>/enable")
def enable(username: str) -> Any:
    """Enable a disabled user again."""
    return _set_active(username, True)


def _set_active(username: str, active: bool) -> Any:
    try:
        with engine().writer.begin() as session:
            set_active(session, username, active, by=current_user.username)
    except EngineError as error:
        _refused(error)
        return redirect(url_for("admin.user", username=username))
    if active:
        flash(_("%(name)s can log in again.", name=username), "ok")
    else:
        flash(_("%(name)s is disabled.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/unlock")
def unlock(username: str) -> Any:
    """End the lock-out of an account after failed log-ins."""
    with engine().sessions() as session:
        try:
            get_user(session, username)
        except NotFound as error:
            _refused(error)
            return redirect(url_for("admin.users"))
    if login_guard().unlock(username, by=current_user.username):
        flash(_("%(name)s is unlocked.", name=username), "ok")
    else:
        flash(_("%(name)s was not locked.", name=username), "ok")
    return redirect(url_for("admin.user", username=username))
