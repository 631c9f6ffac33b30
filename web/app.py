"""The Flask application factory: extensions, blueprints, error pages, the embedded runner."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import OperationalError

from engine.operations.schema_status import require_current
from engine.runtime.collaboration import Collaboration
from engine.runtime.runner import TimerRunner
from engine.store.database import make_engine
from processes.notifications.delivery import background_work
from processes.wiring import build_engine
from web import (
    admin,
    auth,
    cases,
    collaboration,
    documents,
    inbox,
    modeler,
    names_view,
    notifications,
    ops,
    oversight,
    portal,
    records,
    security_headers,
)
from web.admin.calendar import pending_year_banner
from web.due_marks import case_provisional_year, provisional_year
from web.engine_setup import build_login_guard
from web.errors import register_error_handlers
from web.event_labels import event_label
from web.extensions import babel, csrf, login_manager
from web.i18n import (
    LANGUAGES,
    current_lang,
    due_state,
    format_size,
    format_when,
    select_locale,
    select_timezone,
    user_timezone,
)
from web.modeler import decision_test, document_templates
from web.modeler import trial as modeler_trial
from web.portal.links import tell_customers
from web.settings import Settings, load_settings

#: Room for the form fields and multipart headers around an upload of the largest allowed size.
UPLOAD_OVERHEAD = 64 * 1024

log = logging.getLogger(__name__)


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
    tell_customers(engine, str(app.config["SECRET_KEY"]))
    app.extensions["afterflow_collaboration"] = Collaboration(engine)
    app.extensions["afterflow_documents"] = documents.documents_service(engine)
    app.extensions["afterflow_login_guard"] = build_login_guard(engine, settings)

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    register_error_handlers(app)

    for blueprint in (
        auth.bp,
        inbox.bp,
        cases.bp,
        collaboration.bp,
        oversight.bp,
        modeler.bp,
        admin.bp,
        records.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(documents.bp)
    app.register_blueprint(document_templates.bp)
    app.register_blueprint(decision_test.bp)
    app.register_blueprint(modeler_trial.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(portal.bp)  # customers, no staff login
    app.jinja_env.globals.update(
        # The 「暂定」 mark of provisional due times and the administrators' unconfirmed-year banner.
        provisional_year=provisional_year,
        case_provisional_year=case_provisional_year,
        calendar_banner=pending_year_banner,
    )
    ops.init_app(app, engine, settings)
    from web.api import init_api

    init_api(app)

    security_headers.install(app, proxy_hops=settings.proxy_hops, hsts_seconds=settings.hsts_seconds)
    names_view.install(app)

    app.jinja_env.globals.update(lang=current_lang, LANGUAGES=LANGUAGES)
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["due_state"] = due_state
    app.jinja_env.filters["event_label"] = event_label
    app.jinja_env.filters["filesize"] = format_size

    if app.config["AFTERFLOW_EMBEDDED_RUNNER"] and not app.config.get("TESTING"):
        runner = TimerRunner(engine, side_work=background_work(engine))
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


# The names other modules once imported from here; blueprints import them from web.extensions and
# web.i18n (tests/architecture/test_web_imports.py keeps them from importing this module).
_format_when = format_when
__all__ = [
    "UPLOAD_OVERHEAD",
    "_format_when",
    "babel",
    "create_app",
    "csrf",
    "current_lang",
    "due_state",
    "login_manager",
    "user_timezone",
]
