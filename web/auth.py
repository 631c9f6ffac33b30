"""Log in and out; the session user and the engine actor it stands for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload

from engine import clock
from engine.accounts.login_throttle import Lockout, LoginGuard
from engine.accounts.preferences import LANGUAGES, remember_language
from engine.accounts.users import Actor, authenticate
from engine.runtime import Engine
from engine.store.models import User
from web.extensions import login_manager

bp = Blueprint("auth", __name__)


@dataclass
class SessionUser(UserMixin):
    """The logged-in user as the web layer sees it."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    language: str | None
    timezone: str | None = None

    @classmethod
    def of(cls, user: User) -> SessionUser:
        """Copy what the web layer needs from a stored user."""
        return cls(user.id, user.username, user.display_name, user.role_keys, user.language, user.timezone)

    @property
    def actor(self) -> Actor:
        """The engine actor for this user."""
        return Actor(self.username, self.roles)


def engine() -> Engine:
    """Return the app's engine."""
    return current_app.extensions["afterflow"]


def current_actor() -> Actor:
    """Return the engine actor of the logged-in user."""
    return current_user.actor


@login_manager.user_loader
def load_user(user_id: str) -> SessionUser | None:
    """Load the session user by id (Flask-Login's user loader)."""
    if not user_id.isdigit():
        return None
    with engine().sessions() as db:
        user = db.get(User, int(user_id), options=[joinedload(User.roles)])  # one statement per request
        return SessionUser.of(user) if user is not None and user.active else None


def safe_target(target: str | None, default: str | None = None) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (the inbox).

    Browsers read a backslash as a slash and drop tabs and newlines, so ``/\\evil.example``
    or ``/\t/evil.example`` would lead to another host: such targets are refused too.
    """
    fallback = default or url_for("inbox.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log a user in."""
    if request.method == "POST":
        username = request.form.get("username", "")[:128]
        password = request.form.get("password", "")[:1024]
        guard = login_guard()
        address = request.remote_addr or "unknown"
        lockout = guard.lockout(username, address)
        if lockout is not None:
            return _locked_out(lockout, username)
        with engine().sessions() as db:
            user = authenticate(db, username, password)
            session_user = SessionUser.of(user) if user is not None else None
        if session_user is None:
            lockout = guard.failed(username, address)
            if lockout is not None:
                return _locked_out(lockout, username)
            flash(_("Wrong user name or password."), "error")
            return render_template("login.html", username=username), 401
        guard.succeeded(username)
        login_user(session_user)
        response = redirect(safe_target(request.args.get("next")))
        if session_user.language in LANGUAGES:  # the language the user chose last time, on any browser
            _remember_in_browser(response, session_user.language)
        return response
    return render_template("login.html", username="")


def login_guard() -> LoginGuard:
    """Return the app's login throttle."""
    guard: LoginGuard = current_app.extensions["afterflow_login_guard"]
    return guard


def _locked_out(lockout: Lockout, username: str) -> Any:
    # The same words whether the account or the address is locked, and whether the account
    # exists: the answer must not tell an attacker which user names are real.
    minutes = max(1, math.ceil((lockout.until - clock.now()).total_seconds() / 60))
    flash(
        _(
            "Too many failed log-ins. Try again in %(minutes)s minutes, or ask an administrator to unlock the account.",
            minutes=minutes,
        ),
        "error",
    )
    response = current_app.make_response((render_template("login.html", username=username), 429))
    response.headers["Retry-After"] = str(minutes * 60)
    return response


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Log the user out."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language() -> Any:
    """Switch the interface language and remember it."""
    lang = request.form.get("lang", "")
    referrer = urlsplit(request.referrer or "")
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    response = redirect(safe_target(back if referrer.netloc == request.host else None))
    if lang in LANGUAGES:  # anything else is ignored, not stored in the cookie
        _remember_in_browser(response, lang)
        if current_user.is_authenticated:
            remember_language(engine(), current_user.username, lang)
    return response


def _remember_in_browser(response: Any, lang: str) -> None:
    session["lang"] = lang
    response.set_cookie(
        "lang",
        lang,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
