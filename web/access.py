"""Who sees which tasks in the web tier: the roles that oversee every task."""

from __future__ import annotations

from engine.accounts.users import Actor
from web.auth import engine


def sees_all(actor: Actor) -> bool:
    """Tell whether the actor hands out work, and so sees every task (supervisors, administrators)."""
    return bool(actor.roles & (engine().config.assigner_roles | {"admin"}))


def overseers() -> frozenset[str]:
    """The roles that may see every task: those who assign work to others, and superusers."""
    return engine().config.assigner_roles | engine().config.superuser_roles
