"""The Flask application factory: extensions, blueprints, error pages, the embedded runner."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from typing import Any

from flask import Flask, g, render_template, request, session
from flask_babel import Babel, format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from engine import clock
from engine.accounts.login_throttle import (
    DatabaseThrottleStore,
    LoginGuard,
    RedisThrottleStore,
    ThrottlePolicy,
    ThrottleStore,
)
from engine.operations.schema_status import require_current
from engine.runtime.collaboration import Collaboration
from engine.runtime.runner import TimerRunner
from engine.store.database import make_engine
from processes.wiring import build_engine
from web import security_headers
from web.event_labels import event_label
from web.settings import Settings, load_settings

LANGUAGES = ("zh", "en")
#: Room for the form fields and multipart headers around an upload of the largest allowed size.
UPLOAD_OVERHEAD = 64 * 1024

log = logging.getLogger(__name__)
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the web app; ``config`` overrides Flask settings (tests)."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Requests above this are cut off with 413 before they are read; the exact file limit
        # is checked by the attachment command (so a file of exactly the limit is accepted).
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + UPLOAD_OVERHEAD,
        AFTERFLOW_MAX_UPLOAD_BYTES=settings.max_upload_bytes,
        AFTERFLOW_INBOX_POLL_SECONDS=20,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE=settings.calendar.timezone,
        AFTERFLOW_EMBEDDED_RUNNER=settings.embedded_runner,
    )
    if config:
        app.config.update(config)
    engine = app.config.get("AFTERFLOW_ENGINE")
    if engine is None:
        db = make_engine(settings.database_url)
        _refuse_old_schema(db)
        engine = build_engine(db, settings.calendar)
    app.extensions["afterflow"] = engine
    app.extensions["afterflow_collaboration"] = Collaboration(engine)
    app.extensions["afterflow_login_guard"] = login_guard(engine, settings)

    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_message = ""

    # Imported here: the blueprints' modules import this one for current_lang and babel.
    from web import admin, auth, cases, collaboration, inbox, modeler, ops, oversight

    for blueprint in (auth.bp, inbox.bp, cases.bp, collaboration.bp, oversight.bp, modeler.bp, admin.bp):
        app.register_blueprint(blueprint)
    _add_calendar_marks(app)
    ops.init_app(app, engine, settings)
    from web.api import init_api, wants_json
    from web.api.errors import api_error

    init_api(app)

    security_headers.install(app, proxy_hops=settings.proxy_hops, hsts_seconds=settings.hsts_seconds)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if wants_json(request.path):
            return api_error(error)
        limit_mb = app.config["AFTERFLOW_MAX_UPLOAD_BYTES"] // (1024 * 1024)
        return render_template("error.html", error=error, limit_mb=limit_mb), error.code or 500

    app.jinja_env.globals.update(lang=current_lang, LANGUAGES=LANGUAGES)
    app.jinja_env.filters["when"] = _format_when
    app.jinja_env.filters["due_state"] = due_state
    app.jinja_env.filters["event_label"] = event_label
    app.jinja_env.filters["filesize"] = _format_size

    if app.config["AFTERFLOW_EMBEDDED_RUNNER"] and not app.config.get("TESTING"):
        runner = TimerRunner(engine)
        runner.start_thread()
        app.extensions["afterflow_runner"] = runner
    return app


def _refuse_old_schema(db: SqlEngine) -> None:
    """Raise `SchemaNotCurrent` for a database this code may not serve; start while it is down."""
    try:
        require_current(db)
    except OperationalError:
        # The database may come up after the web process; /readyz reports it down (or behind) meanwhile.
        log.warning("the database cannot be reached; starting anyway, /readyz says when it can serve")


def _add_calendar_marks(app: Flask) -> None:
    """The 「暂定」 mark of provisional due times and the administrators' unconfirmed-year banner."""
    from web.admin.calendar import pending_year_banner
    from web.due_marks import case_provisional_year, provisional_year

    app.jinja_env.globals.update(
        provisional_year=provisional_year,
        case_provisional_year=case_provisional_year,
        calendar_banner=pending_year_banner,
    )


def login_guard(engine: Any, settings: Settings) -> LoginGuard:
    """Build the login throttle: counts in Redis when configured, else in the app's database."""
    store: ThrottleStore = (
        RedisThrottleStore(settings.redis_url) if settings.redis_url else DatabaseThrottleStore(engine.db)
    )
    policy = ThrottlePolicy(
        account_failures=max(1, settings.login_account_failures),
        address_failures=max(1, settings.login_address_failures),
        window=timedelta(minutes=max(1, settings.login_window_minutes)),
        lockout=timedelta(minutes=max(1, settings.login_lockout_minutes)),
    )
    return LoginGuard(store, engine.db, policy)


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from web.auth import load_user

    return load_user(user_id)


def current_lang() -> str:
    """Return the interface language of this request: the user's choice, else Chinese."""
    if "lang" not in g:
        chosen = session.get("lang") or request.cookies.get("lang")
        if chosen not in LANGUAGES and getattr(current_user, "is_authenticated", False):
            chosen = current_user.language
        g.lang = chosen if chosen in LANGUAGES else "zh"
    return str(g.lang)


def _select_locale() -> str:
    return current_lang()


def _select_timezone() -> str | None:
    # The user's own timezone when it has one; otherwise BABEL_DEFAULT_TIMEZONE (the company's).
    if getattr(current_user, "is_authenticated", False):
        return current_user.timezone or None
    return None


def user_timezone() -> tzinfo:
    """Return the timezone dates are shown in for this request."""
    zone: tzinfo = get_timezone()
    return zone


def _format_when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return str(format_datetime(value, "yyyy-MM-dd HH:mm"))


def due_state(due_at: datetime | None, now: datetime | None = None) -> str:
    """Tell how an open task stands against its due time: "overdue", "today" or ""."""
    if due_at is None:
        return ""
    now = now or clock.now()
    if due_at < now:
        return "overdue"
    zone = user_timezone()
    return "today" if due_at.astimezone(zone).date() == now.astimezone(zone).date() else ""


def _format_size(size: int) -> str:
    if size < 1024:
        return _("%(n)s bytes", n=size)
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


__all__ = ["_", "create_app", "current_lang", "due_state", "user_timezone"]
