"""``afterflow calendar …``: show, import, confirm the working-time calendar; compute a due time."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from engine.accounts.users import Actor
from engine.calendar import store
from engine.calendar.csv_import import CalendarImportError, parse_calendar_csv
from engine.calendar.notice import NoticeError, parse_notice
from engine.calendar.package_days import SpecialDay
from engine.operations.schema_status import SchemaNotCurrent
from engine.runtime import Engine
from engine.runtime.retiming import change_calendar
from web.engine_setup import open_engine
from web.messages import translate, translate_row


def _engine() -> Engine:
    try:
        return open_engine()
    except SchemaNotCurrent as error:
        raise click.ClickException(error.message) from error


@click.group("calendar")
def calendar_group() -> None:
    """The working-time calendar: holidays, make-up working days, confirmed years."""


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(1900, 2200))
def show(year: int) -> None:
    """List the year's special days, then whether the year is confirmed."""
    engine = _engine()
    with engine.sessions() as session:
        days = store.year_days(session, year)
        confirmed = store.is_confirmed(session, year)
    for special in days:
        click.echo(f"{special.day.isoformat()} {special.kind} {special.name}".rstrip())
    click.echo("confirmed" if confirmed else "unconfirmed")


def _import(days: list[SpecialDay], by: str) -> None:
    engine = _engine()
    actor = Actor(by, frozenset({"admin"}))
    moved = change_calendar(engine, lambda session: store.set_days(session, days, by), actor)
    years = sorted({special.day.year for special in days})
    click.echo(f"imported {len(days)} days of {', '.join(map(str, years))}; {len(moved)} due times re-timed")


@calendar_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="Who makes the change (kept with it).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def import_csv(path: Path, by: str, lang: str) -> None:
    """Import ``date,kind,name`` rows from a CSV file: all rows or none."""
    try:
        days = parse_calendar_csv(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        _fail("the file is not UTF-8 text" if lang == "en" else "文件不是 UTF-8 文本")
    except CalendarImportError as error:
        for problem in error.problems:
            click.echo(translate_row(problem.row, problem.problem, lang))
        _fail("nothing was imported" if lang == "en" else "未导入任何日期")
    _import(days, by)


@calendar_group.command("import-notice")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=click.IntRange(1900, 2200), default=None, help="If the text names none.")
@click.option("--by", default="cli", show_default=True, help="Who makes the change (kept with it).")
def import_notice(path: Path, year: int | None, by: str) -> None:
    """Import the State Council's 放假调休 notice text: all its days or none."""
    try:
        notice = parse_notice(path.read_text(encoding="utf-8-sig"), year)
    except UnicodeDecodeError:
        _fail("the file is not UTF-8 text")
    except NoticeError as error:
        for problem in error.problems:
            click.echo(translate(problem.problem, "en"))
        _fail("nothing was imported")
    _import(notice.days, by)


@calendar_group.command("confirm")
@click.argument("year", type=click.IntRange(1900, 2200))
@click.option("--by", default="cli", show_default=True, help="Who confirms (kept with it).")
def confirm(year: int, by: str) -> None:
    """Mark the year's schedule as complete: its due times are no longer provisional."""
    engine = _engine()
    with engine.writer.begin() as session:
        store.confirm_year(session, year, by)
    click.echo(f"{year} confirmed")


@calendar_group.command("due")
@click.argument("start")
@click.option("--working-hours", type=click.FloatRange(0, 87840), default=None)
@click.option("--working-days", type=click.IntRange(0, 3660), default=None)
@click.option("--hours", type=click.FloatRange(0, 87840), default=None)
def due(start: str, working_hours: float | None, working_days: int | None, hours: float | None) -> None:
    """Print the due time (ISO 8601 with offset) counted from START as the diagrams count it."""
    given = [value for value in (working_hours, working_days, hours) if value is not None]
    if len(given) != 1:
        _fail("give exactly one of --working-hours, --working-days, --hours")
    engine = _engine()
    calendar = engine.config.calendar
    with engine.sessions() as session:
        engine.refresh_calendar(session)
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        _fail(f"'{start}' is not an ISO 8601 time (such as 2027-02-05T16:00+08:00)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=calendar.timezone)
    if working_hours is not None:
        result = calendar.count_due(moment, working_hours, "working_hours")
    elif working_days is not None:
        result = calendar.count_due(moment, working_days, "working_days")
    else:
        result = calendar.add_wall_clock_hours(moment, float(hours or 0))
    click.echo(result.isoformat())
    if hours is None and calendar.is_provisional(moment, result):
        click.echo("provisional: counted across a year whose schedule is not confirmed", err=True)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
