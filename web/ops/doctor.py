"""The findings of ``afterflow doctor``: settings, database, schema, calendar, runners, cases, jobs.

Each finding is one line with what to do. Serious ones make the command exit 1: the instance
cannot serve correctly until they are fixed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from engine import clock
from engine.operations.calendar_years import NEXT_YEAR_DUE_MONTH, unconfirmed_years
from engine.operations.health import OVERDUE_AFTER, cases_in_error, due_jobs, overdue_jobs
from engine.operations.nodes import RUNNER, live_nodes
from engine.operations.schema_status import schema_status
from processes.notifications.settings import customer_notices
from web.settings import Settings

SERIOUS = "serious"
WARNING = "warning"
OK = "ok"

#: Keys that appear in examples and tests: anyone can sign a session with them.
KNOWN_KEYS = frozenset({"dev", "secret", "changeme", "change-me", "secret-key", "web-tests-secret"})
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class Finding:
    """One thing the doctor noticed: how bad, what, and what to do."""

    severity: str
    topic: str
    message: str
    action: str = ""

    def line(self) -> str:
        """The finding as one line of the report."""
        tail = f" — {self.action}" if self.action else ""
        return f"{self.severity.upper():<8} {self.topic}: {self.message}{tail}"


def examine(settings: Settings, db: Engine, today: date | None = None) -> list[Finding]:
    """Every finding about this installation, serious ones first."""
    findings = list(_settings_findings(settings))
    findings.extend(_database_findings(db, today or _company_today(settings)))
    order = {SERIOUS: 0, WARNING: 1, OK: 2}
    return sorted(findings, key=lambda finding: order[finding.severity])


def _company_today(settings: Settings) -> date:
    return clock.now().astimezone(ZoneInfo(settings.calendar.timezone)).date()


def _settings_findings(settings: Settings) -> Iterator[Finding]:
    if not settings.secret_key_configured:
        yield Finding(
            WARNING,
            "secret key",
            f"SECRET_KEY is not set; the default key generated in {settings.instance_dir / 'secret_key'} is used",
            "set SECRET_KEY to a long random value (the same on every web process) and keep it out of backups",
        )
    elif settings.secret_key.strip().lower() in KNOWN_KEYS or len(settings.secret_key) < MIN_KEY_LENGTH:
        yield Finding(
            SERIOUS,
            "secret key",
            "SECRET_KEY is a well-known or short value: anyone could forge a session",
            f"set SECRET_KEY to a random value of at least {MIN_KEY_LENGTH} characters",
        )
    else:
        yield Finding(OK, "secret key", "SECRET_KEY is set")
    yield from _https_findings(settings)
    yield from _smtp_findings()
    yield from _robot_findings()


def _https_findings(settings: Settings) -> Iterator[Finding]:
    secure_cookie, hsts = settings.session_cookie_secure, settings.hsts_seconds
    if hsts and not secure_cookie:
        yield Finding(
            SERIOUS,
            "https",
            "HSTS is sent but the session cookie may travel over plain HTTP",
            "set AFTERFLOW_SESSION_COOKIE_SECURE=1 when the site is served over HTTPS",
        )
    elif not secure_cookie:
        yield Finding(
            WARNING,
            "https",
            "the session cookie is not restricted to HTTPS",
            "serve the site over HTTPS behind the reverse proxy and set AFTERFLOW_SESSION_COOKIE_SECURE=1 "
            "(see docs/operations.md)",
        )
    else:
        yield Finding(OK, "https", "the session cookie is sent over HTTPS only")


def _smtp_findings() -> Iterator[Finding]:
    host = os.environ.get("AFTERFLOW_SMTP_HOST")
    if not host:
        return
    port = int(os.environ.get("AFTERFLOW_SMTP_PORT") or 25)
    if reachable(host, port):
        yield Finding(OK, "smtp", f"the mail server {host}:{port} answers")
    else:
        yield Finding(
            SERIOUS,
            "smtp",
            f"the mail server {host}:{port} cannot be reached",
            "check AFTERFLOW_SMTP_HOST/AFTERFLOW_SMTP_PORT and the firewall",
        )


#: The group robots notifications may be sent to, by their setting's name.
ROBOT_SETTINGS = {
    "AFTERFLOW_WECOM_WEBHOOK": "WeCom",
    "AFTERFLOW_DINGTALK_WEBHOOK": "DingTalk",
    "AFTERFLOW_FEISHU_WEBHOOK": "Feishu",
}


def _robot_findings() -> Iterator[Finding]:
    for setting, robot in ROBOT_SETTINGS.items():
        url = os.environ.get(setting, "").strip()
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            yield Finding(
                SERIOUS,
                "robots",
                f"{setting} is not an http(s) URL",
                f"set {setting} to the robot's webhook URL",
            )
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if reachable(parts.hostname, port):
            yield Finding(OK, "robots", f"the {robot} robot at {parts.hostname}:{port} answers")
        else:
            yield Finding(
                SERIOUS,
                "robots",
                f"the {robot} robot at {parts.hostname}:{port} cannot be reached",
                f"check {setting}, the proxy and the firewall",
            )


def reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _database_findings(db: Engine, today: date) -> Iterator[Finding]:
    try:
        with db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        yield Finding(
            SERIOUS,
            "database",
            f"cannot be reached ({type(error).__name__})",
            "check DATABASE_URL and that the database server runs",
        )
        return
    status = schema_status(db)
    if not status.is_current:
        yield Finding(SERIOUS, "schema", status.describe())
        return
    yield Finding(OK, "schema", status.describe())
    with Session(db) as session:
        yield from _calendar_findings(session, today)
        yield from _runner_findings(session)
        yield from _case_findings(session)
        yield from _customer_notice_findings(session)


def _calendar_findings(session: Session, today: date) -> Iterator[Finding]:
    missing = unconfirmed_years(session, today)
    for year in missing:
        current = year == today.year
        yield Finding(
            SERIOUS if current else WARNING,
            "calendar",
            f"the holidays and make-up working days of {year} are not confirmed"
            + ("" if current else f" (due from 1 {_month_name(NEXT_YEAR_DUE_MONTH)})")
            + f": due times in {year} are provisional",
            f"enter the State Council's {year} schedule and confirm the year "
            f"(`afterflow calendar confirm {year}` or /admin/calendar)",
        )
    if not missing:
        yield Finding(OK, "calendar", "the calendar years due are confirmed")


def _month_name(month: int) -> str:
    return date(2000, month, 1).strftime("%B")


def _runner_findings(session: Session) -> Iterator[Finding]:
    runners = live_nodes(session, RUNNER)
    if runners:
        yield Finding(OK, "runner", f"{len(runners)} timer runner(s) alive")
        return
    waiting = due_jobs(session)
    yield Finding(
        SERIOUS if waiting else WARNING,
        "runner",
        "no timer runner is alive" + (f" and {waiting} timer(s) are due" if waiting else ""),
        "start `afterflow run` (embedded runner) or `afterflow worker`",
    )


def _customer_notice_findings(session: Session) -> Iterator[Finding]:
    """Customers' notices that are on but cannot reach customers, or whose links lead nowhere."""
    chosen = customer_notices(session).channels
    if not chosen:
        return
    needs = {"email": "AFTERFLOW_SMTP_HOST", "sms": "AFTERFLOW_SMS_GATEWAY_URL"}
    for channel in chosen:
        if not os.environ.get(needs[channel], "").strip():
            yield Finding(
                SERIOUS,
                "customer notices",
                f"customers are told by {channel}, but {needs[channel]} is not set: every such notice fails",
                f"set {needs[channel]}, or turn the channel off at /admin/notifications",
            )
    if not os.environ.get("AFTERFLOW_BASE_URL", "").strip():
        yield Finding(
            WARNING,
            "customer notices",
            "AFTERFLOW_BASE_URL is not set: status links in customers' notices name the address staff used",
            "set AFTERFLOW_BASE_URL to the address customers reach",
        )


def _case_findings(session: Session) -> Iterator[Finding]:
    errors = cases_in_error(session)
    if errors:
        yield Finding(
            WARNING,
            "cases",
            f"{errors} case(s) stopped in error",
            "open them in the case list (status: error), fix the cause and retry each",
        )
    late = overdue_jobs(session)
    if late:
        minutes = int(OVERDUE_AFTER.total_seconds() // 60)
        yield Finding(
            SERIOUS,
            "jobs",
            f"{late} timer(s) overdue by more than {minutes} minute(s)",
            "check that a runner is alive and read its log for failures",
        )
