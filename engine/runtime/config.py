"""What the engine needs from the product around it: the plug-in points of the domain."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.accounts.users import verify_password
from engine.calendar import WorkingCalendar
from engine.definitions import RoleResolver
from engine.sandbox import SandboxLimits
from engine.store.projection import LIST_COLUMNS


@dataclass
class EngineConfig:
    """What the engine needs from the product around it."""

    resolve_role: RoleResolver
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    services: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    script_time_limit: float | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    #: Roles that may do anything any role may (start every process, see every case).
    superuser_roles: frozenset[str] = frozenset()
    #: Roles that may assign tasks to others and take them back.
    assigner_roles: frozenset[str] = frozenset()
    #: Roles that may suspend, resume, terminate and retry cases.
    manager_roles: frozenset[str] = frozenset()
    #: Roles that may move running cases to another version of their process.
    migrator_roles: frozenset[str] = frozenset()
    #: Per list column of a case (``LIST_COLUMNS``), the case-data keys that fill it.
    list_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Case-data keys kept on the case row as they stand, so task pages show them without its state.
    fact_keys: Collection[str] = ()
    #: Per form key, a check of a well-formed submission against the case and the records:
    #: ``check(values, case_data, session)`` returns the messages per field key ({} when plausible).
    form_checks: Mapping[str, Callable[..., Mapping[str, list[Any]]]] = field(default_factory=dict)
    #: How a signed step checks the password re-entered against the stored hash: ``(password, hash)``.
    password_matches: Callable[[str, str], bool] = verify_password

    def __post_init__(self) -> None:
        unknown = set(self.list_fields) - set(LIST_COLUMNS)
        if unknown:
            raise ValueError(f"not list columns of a case: {', '.join(sorted(unknown))}")
