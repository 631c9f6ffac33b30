"""``afterflow documents|retention|archive …``: verify issued documents, keep and purge records, export a case."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.users import Actor, get_user
from engine.errors import EngineError
from engine.records.archive import export_case
from engine.records.issued_documents import verify_documents
from engine.records.retention import (
    RECORD_KINDS,
    PolicyRule,
    purge_case,
    release_holds,
    retention_report,
    rules,
    seed_rules,
    set_hold,
    set_rule,
    verify_tombstones,
)
from engine.runtime import Engine
from engine.store.models import ProcessInstance
from processes.records.retention_rules import default_rules, product_expiry
from web.documents import documents_service
from web.engine_setup import open_engine
from web.settings import load_settings

T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _write(engine: Engine, change: Callable[[Session], T]) -> T:
    """Make one change in its own transaction; a refusal ends the command with its message."""
    try:
        with engine.writer.begin() as session:
            return change(session)
    except EngineError as error:
        _fail(error.message)


def _actor(engine: Engine, username: str) -> Actor:
    """The user a command is done as: an active account, so the audit names a real person."""
    with engine.sessions() as session:
        try:
            user = get_user(session, username)
        except EngineError as error:
            _fail(error.message)
        if not user.active:
            _fail(f"the user '{username}' is disabled")
        return Actor.of(user)


# --- documents -----------------------------------------------------------------------------------


@click.group("documents")
def documents_group() -> None:
    """Issued documents: kept as issued, re-hashed on demand."""


@documents_group.command("verify")
@click.option("--case", "business_number", default=None, help="Only this case's documents.")
def verify_command(business_number: str | None) -> None:
    """Re-hash every stored document; exit 1 naming each one whose bytes changed."""
    engine = open_engine()
    with engine.sessions() as session:
        checked, problems = verify_documents(session, business_number)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    click.echo(f"{checked} issued documents verified")


# --- retention -----------------------------------------------------------------------------------


@click.group("retention")
def retention_group() -> None:
    """How long records are kept, legal holds, and purging what is due."""


def _seeded(engine: Engine) -> None:
    with engine.writer.begin() as session:
        seed_rules(session, default_rules())


@retention_group.command("policy")
@click.option("--kind", type=click.Choice(RECORD_KINDS), default=None, help="Change this kind's rule.")
@click.option(
    "--process", "process_key", default="", help="The process the rule is for (none: every process)."
)
@click.option("--years", type=int, default=None, help="Years kept after the record closes.")
@click.option("--years-past-expiry", type=int, default=None, help="Years kept past the product's expiry.")
@click.option("--source", default=None, help="The rule's source (a regulation, a decision).")
@click.option("--by", "username", default=None, help="Who changes the rule (required to change it).")
def policy_command(
    kind: str | None,
    process_key: str,
    years: int | None,
    years_past_expiry: int | None,
    source: str | None,
    username: str | None,
) -> None:
    """List the retention rules, or change one (--kind, --years and --by)."""
    engine = open_engine()
    _seeded(engine)
    if kind is not None:
        if years is None or username is None:
            _fail("changing a rule needs --years and --by")
        rule = PolicyRule(kind, process_key, years, years_past_expiry, source)
        actor = _actor(engine, username)
        _write(engine, lambda session: set_rule(session, rule, actor.username))
    with engine.sessions() as session:
        for rule in rules(session):
            past = (
                f", {rule.years_past_expiry} year(s) past expiry"
                if rule.years_past_expiry is not None
                else ""
            )
            click.echo(
                f"{rule.record_kind}\t{rule.process_key or '*'}\t{rule.years} years{past}\t{rule.source or ''}"
            )


@retention_group.command("report")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every ended case with its keep-until date, not only what is due.",
)
def report_command(everything: bool) -> None:
    """List the cases due for purging now (business number, process, ended, kept until)."""
    engine = open_engine()
    _seeded(engine)
    with engine.sessions() as session:
        items = retention_report(
            session, product_expiry, engine.config.calendar.timezone, due_only=not everything
        )
        for item in items:
            until = item.keep_until.date().isoformat() if item.keep_until else "-"
            state = "held" if item.held else ("due" if item.keep_until else "kept")
            ended = item.ended_at.date().isoformat() if item.ended_at else "-"
            click.echo(
                f"{item.business_number}\t{item.process_key}\tended {ended}\tkept until {until}\t{state}"
            )
    click.echo(f"{len(items)} case(s)" + ("" if everything else " due for purging"))


def _hold_command(
    name: str,
    summary: str,
    reason_help: str,
    by_help: str,
    change: Callable[[Session, str, str, str], T],
    said: Callable[[T, str], str],
) -> None:
    """Add a command that changes a case's legal holds as a named user, with a reason."""

    @retention_group.command(name, help=summary)
    @click.argument("business_number")
    @click.option("--reason", required=True, help=reason_help)
    @click.option("--by", "username", required=True, help=by_help)
    def command(business_number: str, reason: str, username: str) -> None:
        engine = open_engine()
        actor = _actor(engine, username)
        result = _write(engine, lambda session: change(session, business_number, reason, actor.username))
        click.echo(said(result, business_number))


_hold_command(
    "hold",
    "Put a case under a legal hold: it is never purged until the hold is released.",
    "Why the case must be kept (an inspection, a dispute).",
    "Who sets the hold.",
    set_hold,
    lambda hold, number: f"legal hold {hold.id} set on {number}",
)
_hold_command(
    "release",
    "Release the legal holds on a case.",
    "Why the hold ends.",
    "Who releases the hold.",
    release_holds,
    lambda count, number: f"{count} legal hold(s) released on {number}",
)


@retention_group.command("purge")
@click.argument("business_number")
@click.option("--by", "username", required=True, help="Who purges (named in the tombstone and the audit).")
@click.option("--yes", "confirmed", is_flag=True, help="Purge without asking.")
def purge_command(business_number: str, username: str, confirmed: bool) -> None:
    """Remove a case that is due, with its documents and files; keep a signed tombstone."""
    engine = open_engine()
    _seeded(engine)
    actor = _actor(engine, username)
    if not confirmed:
        click.confirm(f"Purge {business_number} and everything recorded on it?", abort=True)
    secret = load_settings().secret_key
    timezone = engine.config.calendar.timezone
    tombstone = _write(
        engine,
        lambda session: purge_case(
            session, business_number, actor.username, secret, product_expiry, timezone
        ),
    )
    click.echo(f"{business_number} purged; tombstone {tombstone.id} signed {tombstone.signature}")


@retention_group.command("verify")
def verify_tombstones_command() -> None:
    """Check every purge tombstone's signature; exit 1 naming those that do not match."""
    engine = open_engine()
    with engine.sessions() as session:
        checked, broken = verify_tombstones(session, load_settings().secret_key)
    for number in broken:
        click.echo(f"the tombstone of {number} does not match its signature")
    if broken:
        sys.exit(1)
    click.echo(f"{checked} tombstone(s) verified")


# --- archive -------------------------------------------------------------------------------------


@click.group("archive")
def archive_group() -> None:
    """Self-contained bundles of cases for inspectors."""


@archive_group.command("export")
@click.option("--case", "business_number", required=True, help="The case's business number.")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
def export_command(business_number: str, out: Path) -> None:
    """Write a case's bundle: PDFs, attachments, the record as JSON, the audit events, a manifest."""
    engine = open_engine()
    documents = documents_service(engine)
    try:
        with engine.sessions() as session:
            instance_id = session.scalar(
                select(ProcessInstance.id).where(ProcessInstance.business_number == business_number)
            )
            if instance_id is None:
                _fail(f"no case {business_number}")
        data = documents.case_values(instance_id)
        with engine.sessions() as session:
            report = export_case(session, business_number, out, data)
    except EngineError as error:
        _fail(error.message)
    click.echo(
        f"{report.path}: {report.documents} document(s), {report.attachments} attachment(s), "
        f"{report.events} audit event(s), {report.files} files"
    )
