"""``/admin/calendar``: the year's holidays and make-up working days, the working day, confirmation."""

from __future__ import annotations

from calendar import Calendar
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import clock
from engine.calendar import CalendarConfig, store
from engine.calendar.csv_import import CalendarImportError, parse_calendar_csv
from engine.calendar.notice import NoticeError, parse_notice
from engine.calendar.package_days import HOLIDAY, KINDS, SpecialDay
from engine.runtime.retiming import change_calendar, change_working_day
from web.admin.blueprint import bp
from web.auth import current_actor, engine
from web.i18n import current_lang
from web.messages import translate, translate_row

MIN_YEAR, MAX_YEAR = 2000, 2100
CLEAR = "clear"


def _year(value: Any) -> int:
    """A year from a form or query value, else next year (the one usually being entered)."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = clock.now().astimezone(engine().config.calendar.timezone).year + 1
    return min(max(year, MIN_YEAR), MAX_YEAR)


def _back(year: int) -> Response:
    return redirect(url_for("admin.calendar", year=year))


@bp.get("/calendar")
def calendar() -> Any:
    """Show the year as twelve month grids with its special days, settings and status."""
    year = _year(request.args.get("year"))
    with engine().sessions() as session:
        days = {special.day: special for special in store.year_days(session, year)}
        confirmed = store.is_confirmed(session, year)
        engine().refresh_calendar(session)
    grid = Calendar(firstweekday=0)
    months = [(month, grid.monthdatescalendar(year, month)) for month in range(1, 13)]
    config = engine().config.calendar.config
    return render_template(
        "admin/calendar.html",
        year=year,
        days=days,
        months=months,
        confirmed=confirmed,
        config=config,
        HOLIDAY=HOLIDAY,
        review=None,
        notice_text="",
    )


@bp.post("/calendar/day")
def mark_day() -> Response:
    """Mark one day a holiday or a working day (with a name), or clear the company's entry."""
    year = _year(request.form.get("year"))
    kind = request.form.get("kind", "")
    name = request.form.get("name", "").strip()[:128]
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        flash(_("Give the day as a date such as 2027-02-08."), "error")
        return _back(year)
    actor = current_actor()
    if kind == CLEAR:
        moved = change_calendar(
            engine(), lambda session: store.clear_day(session, day, actor.username), actor
        )
    elif kind in KINDS:
        special = SpecialDay(day, kind, name)
        moved = change_calendar(
            engine(), lambda session: store.set_days(session, [special], actor.username), actor
        )
    else:
        flash(_("Choose holiday, working day or clear."), "error")
        return _back(year)
    flash(_("%(day)s saved; %(n)s due times re-timed.", day=day.isoformat(), n=len(moved)), "ok")
    return _back(day.year)


@bp.post("/calendar/confirm")
def confirm() -> Response:
    """Confirm the year's schedule: its due times are no longer provisional."""
    year = _year(request.form.get("year"))
    actor = current_actor()
    with engine().writer.begin() as session:
        store.confirm_year(session, year, actor.username, confirmed=request.form.get("undo") != "1")
    flash(_("The %(year)s schedule is saved.", year=year), "ok")
    return _back(year)


@bp.post("/calendar/settings")
def settings() -> Response:
    """Store the working day (start, end, lunch break) and the timezone."""
    year = _year(request.form.get("year"))
    try:
        config = CalendarConfig.from_mapping(
            {
                key: request.form.get(key, "")
                for key in ("timezone", "work_start", "work_end", "lunch_start", "lunch_end")
            }
        )
    except ValueError as error:
        flash(_("The working day was not saved: %(error)s", error=str(error)), "error")
        return _back(year)
    actor = current_actor()
    moved = change_working_day(
        engine(), lambda session: store.save_config(session, config, actor.username), actor
    )
    flash(_("The working day is saved; %(n)s due times re-timed.", n=len(moved)), "ok")
    return _back(year)


@bp.post("/calendar/import")
def import_csv() -> Any:
    """Import a ``date,kind,name`` CSV: all rows or none."""
    year = _year(request.form.get("year"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file."), "error")
        return _back(year)
    try:
        days = parse_calendar_csv(upload.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return _back(year)
    except CalendarImportError as error:
        for problem in error.problems:
            flash(translate_row(problem.row, problem.problem, current_lang()), "error")
        flash(_("Nothing was imported."), "error")
        return _back(year)
    return _save(days, year)


@bp.post("/calendar/notice")
def review_notice() -> Any:
    """Read a pasted notice and show its days for review (nothing is saved yet)."""
    year = _year(request.form.get("year"))
    text = request.form.get("text", "")
    try:
        notice = parse_notice(text)
    except NoticeError as error:
        for problem in error.problems:
            flash(translate(problem.problem, current_lang()), "error")
        flash(_("The notice could not be read; nothing was saved."), "error")
        return _back(year)
    with engine().sessions() as session:
        days = {special.day: special for special in store.year_days(session, notice.year)}
        confirmed = store.is_confirmed(session, notice.year)
    grid = Calendar(firstweekday=0)
    return render_template(
        "admin/calendar.html",
        year=notice.year,
        days=days,
        months=[(month, grid.monthdatescalendar(notice.year, month)) for month in range(1, 13)],
        confirmed=confirmed,
        config=engine().config.calendar.config,
        HOLIDAY=HOLIDAY,
        review=notice,
        notice_text=text,
    )


@bp.post("/calendar/notice/save")
def save_notice() -> Any:
    """Save the days of a reviewed notice (read again from the same text)."""
    year = _year(request.form.get("year"))
    try:
        notice = parse_notice(request.form.get("text", ""))
    except NoticeError:
        flash(_("The notice could not be read; nothing was saved."), "error")
        return _back(year)
    return _save(notice.days, notice.year)


def _save(days: list[SpecialDay], year: int) -> Response:
    actor = current_actor()
    moved = change_calendar(engine(), lambda session: store.set_days(session, days, actor.username), actor)
    flash(_("%(n)s days saved; %(m)s due times re-timed.", n=len(days), m=len(moved)), "ok")
    return _back(days[0].day.year if days else year)


def pending_year_banner() -> int | None:
    """The first unconfirmed year of this one and (from 1 November) the next, for admins; else None."""
    from flask_login import current_user

    if not getattr(current_user, "is_authenticated", False) or "admin" not in current_user.roles:
        return None
    calendar = engine().config.calendar
    today = clock.now().astimezone(calendar.timezone).date()
    years = [today.year] + ([today.year + 1] if today >= date(today.year, 11, 1) else [])
    with engine().sessions() as session:
        pending = store.pending_years(session, years)
    return pending[0] if pending else None
