"""``afterflow token …``: create, list and revoke personal access tokens for the REST API."""

from __future__ import annotations

import sys

import click

from engine.accounts.access_tokens import MAX_DAYS, SCOPES, issue_token, revoke_token, tokens_of
from engine.errors import EngineError
from engine.runtime import Engine
from web.engine_setup import open_engine


def _engine() -> Engine:
    return open_engine()


@click.group("token")
def token_group() -> None:
    """Personal access tokens: what programs present to the REST API instead of a password."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--expires", "days", type=click.IntRange(1, MAX_DAYS), default=None, help="Days it lasts.")
@click.option("--scope", type=click.Choice(SCOPES), default="write", show_default=True)
def create(username: str, name: str, days: int | None, scope: str) -> None:
    """Create a token for USERNAME and print it (once: only its hash is kept)."""
    engine = _engine()
    try:
        with engine.writer.begin() as session:
            issued = issue_token(session, username, name, scope, days)
    except EngineError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    click.echo(issued.secret)


@token_group.command("list")
@click.argument("username")
def list_tokens(username: str) -> None:
    """List USERNAME's tokens: id, name, scope, state and when it expires."""
    engine = _engine()
    with engine.sessions() as session:
        for token in tokens_of(session, username):
            state = "revoked" if token.revoked_at else "active"
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            click.echo(f"{token.id}\t{token.shown}…\t{token.name}\t{token.scope}\t{state}\texpires {expires}")


@token_group.command("revoke")
@click.argument("username")
@click.argument("token_id", type=int)
def revoke(username: str, token_id: int) -> None:
    """Revoke one of USERNAME's tokens."""
    engine = _engine()
    try:
        with engine.writer.begin() as session:
            revoke_token(session, token_id, username)
    except EngineError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    click.echo("revoked")
