"""``afterflow doctor``: one line per finding with what to do; exit 1 when any is serious."""

from __future__ import annotations

import sys

import click

from engine.db import make_engine
from web.ops.doctor import OK, SERIOUS, examine
from web.settings import load_settings


@click.command("doctor")
@click.option("--all", "show_all", is_flag=True, help="Also list the checks that passed.")
def doctor_command(show_all: bool) -> None:
    """Check settings, database, schema, calendar, runners, cases in error and late jobs."""
    settings = load_settings()
    db = make_engine(settings.database_url)
    try:
        findings = examine(settings, db)
    finally:
        db.dispose()
    shown = [finding for finding in findings if show_all or finding.severity != OK]
    for finding in shown:
        click.echo(finding.line())
    serious = sum(finding.severity == SERIOUS for finding in findings)
    problems = sum(finding.severity != OK for finding in findings)
    click.echo(f"{problems} finding(s), {serious} serious" if problems else "no problem found")
    if serious:
        sys.exit(1)
