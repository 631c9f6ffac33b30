"""The ``afterflow`` command: set up the database, deploy diagrams, manage users, serve, work."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from afterflow import DIAGRAMS
from engine.accounts.password_rules import (
    COMMON,
    CONTAINS_USERNAME,
    MIN_LENGTH,
    TOO_LONG,
    TOO_SHORT,
    password_problems,
)
from engine.accounts.users import Actor, create_user, get_user
from engine.definitions import Problem, collect_files
from engine.definitions.convert import convert_foreign
from engine.definitions.deploy import DeployReport
from engine.errors import DeploymentInvalid, EngineError, FormInvalid
from engine.operations.schema_status import SchemaNotCurrent
from engine.runtime import Engine
from engine.runtime.library import user_names, with_library_files
from engine.runtime.runner import TimerRunner
from engine.sandbox.limits import limit_process_memory
from engine.store.models import ProcessInstance
from processes.demo.records import load_demo_records
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.notifications.delivery import background_work
from processes.records.ledger_import import LedgerImportError, import_ledger
from processes.roles import ROLE_KEYS
from web.audit_cli import audit_group
from web.calendar_cli import calendar_group
from web.engine_setup import open_engine
from web.messages import translate, translate_errors, translate_row
from web.ops.backup_cli import backup_command, restore_command
from web.ops.doctor_cli import doctor_command
from web.ops.logging_setup import configure_logging
from web.ops.upgrade_cli import upgrade_command
from web.records_cli import archive_group, documents_group, retention_group
from web.settings import load_settings
from web.token_cli import token_group

#: Commands that serve (their log has one line per request and per engine command).
SERVING_COMMANDS = frozenset({"run", "worker"})


def _engine(install: bool = True) -> Engine:
    """Open the configured database; refuse one whose schema is not this code's (see ``open_engine``)."""
    try:
        return open_engine(install=install)
    except SchemaNotCurrent as error:
        _fail(error.message)


@click.group()
@click.pass_context
def main(context: click.Context) -> None:
    """afterflow: regulated after-sales procedures run as BPMN processes."""
    log_format = load_settings().log_format
    # A command at the terminal prints its own outcome; a text log line would only repeat it.
    quiet = context.invoked_subcommand not in SERVING_COMMANDS and log_format != "json"
    configure_logging(log_format, quiet_commands=quiet)


@main.command("init-db")
def init_db() -> None:
    """Create the schema in an empty database (an existing one is upgraded by `afterflow upgrade`)."""
    _engine()
    click.echo("database is up to date")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report, deploy nothing.")
@click.option(
    "--by", "deployed_by", default="cli", show_default=True, help="Who deploys (kept with the version)."
)
@click.option("--summary", default=None, help="A change summary kept with the new versions.")
def deploy(paths: tuple[Path, ...], dry_run: bool, deployed_by: str, summary: str | None) -> None:
    """Validate BPMN/DMN/form files and deploy changed processes as new versions.

    Prints one ``element_id: message`` line per problem and exits 1 when there is any;
    whatever the files hold, it never ends in a traceback.
    """
    if len(deployed_by) > 64:
        raise click.BadParameter("at most 64 characters", param_hint="--by")
    files, problems = collect_files(paths)
    if problems:
        _print_problems(problems)
        sys.exit(1)
    report = _deploy(files, deployed_by, summary, dry_run)
    for warning in report.warnings:
        click.echo(f"warning: {warning.line()}")
    verb = "would deploy" if dry_run else "deployed"
    for key, version in report.deployed:
        click.echo(f"{key}: {verb} version {version}")
    for key, version in report.unchanged:
        click.echo(f"{key}: unchanged (version {version})")
    if not report.deployed and not report.unchanged:
        click.echo(
            "no executable process in the files (decisions and forms deploy with the processes using them)"
        )
    if dry_run:
        click.echo("no problem found")


def _deploy(files: dict[str, str], deployed_by: str, summary: str | None, dry_run: bool) -> DeployReport:
    """Run the deploy; turn every failure into a plain message and exit status 1."""
    try:
        engine = _engine()
    except Exception as error:  # unreachable server, bad URL, failed migration: one plain line
        _fail(f"the database cannot be opened: {_first_line(error)}")
    try:
        conversion = convert_foreign(with_library_files(engine, files), known_users=user_names(engine))
        for change in conversion.changes:
            click.echo(change.line())
        return engine.deploy(
            conversion.files, deployed_by=deployed_by, change_summary=summary, dry_run=dry_run
        )
    except DeploymentInvalid as error:
        _print_problems(error.problems)
        _fail(error.message)
    except EngineError as error:
        _fail(error.message)
    except SQLAlchemyError as error:
        _fail(f"the database refused the deploy: {_first_line(error)}")
    except Exception as error:  # a bug, but a bad diagram must never end in a traceback
        _fail(
            f"afterflow could not check the files ({type(error).__name__}: {_first_line(error)}); please report this"
        )


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _limit_process_memory() -> None:
    """Apply AFTERFLOW_PROCESS_MEMORY_MB (RLIMIT_AS) to this server process, when set."""
    raw = os.environ.get("AFTERFLOW_PROCESS_MEMORY_MB", "").strip()
    if not raw:
        return
    if not raw.isdigit() or int(raw) < 256:
        raise click.ClickException("AFTERFLOW_PROCESS_MEMORY_MB must be a whole number of at least 256")
    limit_process_memory(int(raw))


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        if problem.code is not None:  # a problem worded by the catalogue: English at the terminal
            problem = replace(problem, message=translate(problem.code, "en"))
        click.echo(problem.line())


#: The password rules as the command line says them (in both languages, as ledger errors are).
PASSWORD_RULES = {
    TOO_SHORT: f"密码至少需要 {MIN_LENGTH} 个字符 / the password needs at least {MIN_LENGTH} characters",
    TOO_LONG: "密码太长 / the password is too long",
    CONTAINS_USERNAME: "密码不能包含用户名 / the password must not contain the user name",
    COMMON: "这个密码太常见 / this password is too common",
}


@main.command("create-user")
@click.argument("username")
@click.option(
    "--role", "roles", multiple=True, required=True, help=f"One of: {', '.join(sorted(ROLE_KEYS))}."
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
@click.option("--replace", is_flag=True, help="Update the user if it exists.")
def create_user_command(
    username: str, roles: tuple[str, ...], password: str, display_name: str | None, replace: bool
) -> None:
    """Create a user with one or more roles (the password must keep the password rules)."""
    problems = password_problems(password, username)
    if problems:
        raise click.ClickException("; ".join(PASSWORD_RULES[code] for code in problems))
    engine = _engine()
    try:
        with engine.writer.begin() as session:
            create_user(session, username, password, roles, ROLE_KEYS, display_name, replace=replace)
    except EngineError as error:
        raise click.ClickException(error.message)
    click.echo(f"user {username} created with roles {', '.join(sorted(roles))}")


@main.command("start")
@click.argument("process_key")
@click.option("--as", "username", required=True, help="The user who starts the case (their roles apply).")
@click.option(
    "--data", "data_json", default="{}", show_default=True, help="The start form's data as a JSON object."
)
def start_command(process_key: str, username: str, data_json: str) -> None:
    """Start a case of the newest version of a process; print its business number and status.

    A case that stops in the error state is still started: its element and message are
    printed and the command exits 3, so scripts can tell it from a refused start (exit 1) and
    from a mistyped command (exit 2).
    """
    try:
        data = json.loads(data_json)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error.msg} (column {error.colno})", param_hint="--data")
    if not isinstance(data, dict):
        raise click.BadParameter('must be a JSON object such as {"field": "value"}', param_hint="--data")
    engine = _engine()
    try:
        with engine.sessions() as session:
            user = get_user(session, username)
            if not user.active:
                raise EngineError(f"the user '{username}' is disabled")
            actor = Actor.of(user)
        started = engine.start(process_key, data, actor)
    except FormInvalid as error:
        for key, messages in translate_errors(error.errors, "en").items():
            for message in messages:
                click.echo(f"{key}: {message}", err=True)
        raise click.ClickException(error.message)
    except EngineError as error:
        raise click.ClickException(error.message)
    click.echo(f"{started.business_number} {started.status}")
    if started.status == "error":
        with engine.sessions() as session:
            instance = session.get(ProcessInstance, started.id)
            if instance is not None:
                click.echo(f"error at {instance.error_element}: {instance.error_message}")
        sys.exit(3)


@main.command("setup-demo")
def setup_demo() -> None:
    """Create the schema if the database is empty, deploy diagrams/, create the demo users (safe to run again)."""
    engine = _engine()
    files, problems = collect_files([DIAGRAMS])
    if problems:
        _print_problems(problems)
        sys.exit(1)
    try:
        report = engine.deploy(files, deployed_by="setup")
    except DeploymentInvalid as error:
        _print_problems(error.problems)
        sys.exit(1)
    for key, version in report.deployed:
        click.echo(f"deployed {key} version {version}")
    with engine.writer.begin() as session:
        for username, display_name, roles in DEMO_USERS:
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name, replace=True)
        records = load_demo_records(session)
    if records.customers or records.ledger_lines:
        click.echo(
            f"demo records: {records.customers} customers, {records.products} products, "
            f"{records.contracts} contracts, {records.ledger_lines} sales-ledger lines"
        )
    click.echo("")
    click.echo(f"Demo users (password '{DEMO_PASSWORD}'):")
    for username, display_name, roles in DEMO_USERS:
        click.echo(f"  {username:<10} {display_name:<8} {', '.join(roles)}")


@main.command("demo-load")
@click.option("--cases", "count", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=2026, show_default=True, type=int, help="Same seed, same cases.")
@click.option(
    "--days", default=150, show_default=True, type=click.IntRange(1, 3650), help="Days replayed, up to now."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes sharing the cases (default: one per core, one for fewer than 100 cases).",
)
def demo_load(count: int, seed: int, days: int, workers: int | None) -> None:
    """Fill the database with realistic cases run through the real processes (after setup-demo)."""
    from processes.demo.load import load_cases

    engine = _engine()
    with engine.writer.begin() as session:
        load_demo_records(session)
    if workers is None:
        workers = (os.cpu_count() or 1) if count >= 100 else 1
    with click.progressbar(length=count, label="cases", file=sys.stderr, show_pos=True, show_eta=True) as bar:
        report = load_cases(
            engine,
            count,
            seed=seed,
            days=days,
            progress=bar.update,
            workers=workers,
            open_engine=partial(open_engine, None, False),
        )
    for line in report.lines():
        click.echo(line)


@main.command("import-ledger")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the row errors.",
)
def import_ledger_command(path: Path, lang: str) -> None:
    """Import sales-ledger lines (销售记录) from a CSV or XLSX file: all rows or none."""
    engine = _engine()
    try:
        with engine.writer.begin() as session:
            report = import_ledger(session, path)
    except LedgerImportError as error:
        for row_error in error.errors:
            click.echo(translate_row(row_error.row, row_error.problem, lang))
        click.echo("nothing was imported" if lang == "en" else "未导入任何记录", err=True)
        sys.exit(1)
    click.echo(
        f"imported {report.imported} lines, {report.customers_created} new customers"
        if lang == "en"
        else f"已导入 {report.imported} 行，新建客户 {report.customers_created} 家"
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes (gunicorn). Default: AFTERFLOW_WORKERS, else one per core plus one.",
)
@click.option("--single", is_flag=True, help="One process with threads (waitress), as on Windows.")
def run(host: str, port: int, workers: int | None, single: bool) -> None:
    """Serve the web app: gunicorn with several processes on Linux/macOS, waitress elsewhere.

    Each process runs the embedded timer runner unless AFTERFLOW_EMBEDDED_RUNNER=0.
    """
    from shutil import which

    from web.ops.serving import gunicorn_command, server_environment

    settings = load_settings()
    try:
        _refuse_old_schema(settings.database_url)
    except SchemaNotCurrent as error:
        _fail(error.message)
    gunicorn = which("gunicorn", path=str(Path(sys.executable).parent)) or which("gunicorn")
    if gunicorn and not single and sys.platform != "win32":
        env = server_environment(os.environ, settings.instance_dir, host, port, workers)
        click.echo(f"afterflow on http://{host}:{port}/ ({env['AFTERFLOW_WORKERS']} gunicorn processes)")
        sys.stdout.flush()
        os.execve(gunicorn, gunicorn_command(gunicorn), env)
    from waitress import serve

    from web.app import create_app

    _limit_process_memory()
    try:
        app = create_app()
    except SchemaNotCurrent as error:
        _fail(error.message)
    click.echo(f"afterflow on http://{host}:{port}/ (one process)")
    serve(app, host=host, port=port, threads=8, ident="afterflow")


def _refuse_old_schema(url: str) -> None:
    """Refuse to serve a database whose schema is not this code's (before any server process starts)."""
    from sqlalchemy.exc import OperationalError

    from engine.operations.schema_status import require_current
    from engine.store.database import make_engine

    db = make_engine(url)
    try:
        require_current(db)
    except OperationalError:
        pass  # not reachable yet: the server starts, /readyz says when it can serve
    finally:
        db.dispose()


@main.command()
def worker() -> None:
    """Run the timer runner and the notifications' delivery on their own (any number may share PostgreSQL)."""
    _limit_process_memory()
    engine = _engine(install=False)
    runner = TimerRunner(engine, side_work=background_work(engine))
    try:
        runner.serve()
    except KeyboardInterrupt:
        runner.stop()


main.add_command(calendar_group)
main.add_command(audit_group)
main.add_command(token_group)
main.add_command(backup_command)
main.add_command(restore_command)
main.add_command(upgrade_command)
main.add_command(doctor_command)
main.add_command(documents_group)
main.add_command(retention_group)
main.add_command(archive_group)

if __name__ == "__main__":  # pragma: no cover
    main()
