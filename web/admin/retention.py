"""``/admin/retention``: how long each kind of record is kept, legal holds, and what is due for purging.

Rules and holds are edited here (each change audited); purging itself stays an explicit command
(``afterflow retention purge``) run by an operator, never a button.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.errors import NotFound
from engine.records.models import LegalHold
from engine.records.retention import (
    RECORD_KINDS,
    PolicyRule,
    RetentionRefused,
    release_holds,
    retention_report,
    rules,
    seed_rules,
    set_hold,
    set_rule,
)
from processes.records.retention_rules import default_rules, product_expiry
from web.admin.blueprint import bp
from web.auth import current_actor, engine


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return -1


@bp.get("/retention")
def retention() -> Any:
    """The rules, the holds in force, and the cases due for purging now."""
    with engine().writer.begin() as session:
        seed_rules(session, default_rules())
    with engine().sessions() as session:
        held = list(
            session.scalars(
                select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.set_at)
            )
        )
        due = retention_report(session, product_expiry, engine().config.calendar.timezone)
        return render_template(
            "admin/retention.html", rules=rules(session), held=held, due=due, kinds=RECORD_KINDS
        )


@bp.post("/retention/rules")
def set_retention_rule() -> Any:
    """Change (or add) the rule of a record kind, per process or for all."""
    years = _number(request.form.get("years"))
    past = _number(request.form.get("years_past_expiry"))
    rule = PolicyRule(
        request.form.get("record_kind", ""),
        request.form.get("process_key", "").strip(),
        years if years is not None else -1,
        past,
        request.form.get("source") or None,
    )
    try:
        with engine().writer.begin() as session:
            set_rule(session, rule, current_actor().username)
    except RetentionRefused as error:
        if error.reason == "kind":
            flash(_("Choose one of the record kinds."), "error")
        else:
            flash(_("Keep records between 1 and 100 years (0 to 100 past the expiry)."), "error")
    else:
        flash(_("Retention rule saved."), "ok")
    return redirect(url_for("admin.retention"))


@bp.post("/retention/holds")
def set_legal_hold() -> Any:
    """Put a case under a legal hold."""
    number = request.form.get("business_number", "").strip()
    try:
        with engine().writer.begin() as session:
            set_hold(session, number, request.form.get("reason", ""), current_actor().username)
    except NotFound:
        flash(_("There is no case %(number)s.", number=number), "error")
    except RetentionRefused:
        flash(_("A legal hold needs a reason."), "error")
    else:
        flash(_("%(number)s is under a legal hold.", number=number), "ok")
    return redirect(url_for("admin.retention"))


@bp.post("/retention/holds/release")
def release_legal_hold() -> Any:
    """Release the legal holds on a case."""
    number = request.form.get("business_number", "").strip()
    try:
        with engine().writer.begin() as session:
            release_holds(session, number, request.form.get("reason", ""), current_actor().username)
    except NotFound:
        flash(_("There is no case %(number)s.", number=number), "error")
    except RetentionRefused as error:
        if error.reason == "reason":
            flash(_("Releasing a legal hold needs a reason."), "error")
        else:
            flash(_("%(number)s is under no legal hold.", number=number), "error")
    else:
        flash(_("The legal hold on %(number)s is released.", number=number), "ok")
    return redirect(url_for("admin.retention"))
