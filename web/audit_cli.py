"""``afterflow audit …``: prove the records were not altered, and anchor closed days."""

from __future__ import annotations

import sys

import click

from engine.audit.days import seal_closed_days
from engine.audit.verify import verify
from engine.errors import NotFound
from web.engine_setup import open_engine


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail: hash chains per case, daily anchors, signed records."""


@audit_group.command("verify")
@click.option("--case", "case_number", default=None, help="Check only this case (its business number).")
def verify_command(case_number: str | None) -> None:
    """Check every chain and record; exit 1 naming the first break, 0 when all is intact."""
    engine = open_engine()
    with engine.sessions() as session:
        try:
            breaks = verify(session, case_number)
        except NotFound as error:
            click.echo(f"error: {error.message}", err=True)
            sys.exit(2)
    if not breaks:
        click.echo(f"intact: {'case ' + case_number if case_number else 'every chain and record'} verified")
        return
    click.echo(f"BROKEN: {breaks[0].describe()}")
    if len(breaks) > 1:
        click.echo(f"({len(breaks) - 1} further break(s):)")
        for finding in breaks[1:20]:
            click.echo(f"  {finding.describe()}")
    sys.exit(1)


@audit_group.command("seal")
def seal_command() -> None:
    """Anchor every closed day not anchored yet, and print the anchors (keep a copy elsewhere)."""
    engine = open_engine()
    with engine.writer.begin() as session:
        sealed = seal_closed_days(session)
    for anchor in sealed:
        click.echo(f"{anchor.day}\t{anchor.hash}\t{anchor.chains} chains")
    if not sealed:
        click.echo("no closed day waits to be anchored")
