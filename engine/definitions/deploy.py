"""Deploy validated bundles as numbered versions per process key, and cache parsed versions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.definitions import Problem, RoleResolver
from engine.definitions.checked_bundles import check_files
from engine.definitions.forms import FormDefinition
from engine.definitions.message_routes import message_start_clashes
from engine.definitions.shared_specs import restored_specs
from engine.errors import ConcurrentModification, DeploymentInvalid
from engine.sandbox.limits import SandboxLimits
from engine.store.models import ProcessDefinition
from engine.store.serialization import ProcessSpecs, specs_from_json


@dataclass
class DeployReport:
    """What a deploy did: new versions, processes left unchanged, and problems (none on success)."""

    deployed: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    #: The processes deployed whose cases start on a timer (each keeps a case waiting to start).
    timer_starts: set[str] = field(default_factory=set)


def deploy_files(
    session: Session,
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: Callable[[str], Any] | None,
    deployed_by: str | None,
    change_summary: str | None,
    dry_run: bool,
    limits: SandboxLimits | None = None,
    services: Mapping[str, Callable[..., Any]] | None = None,
) -> DeployReport:
    """Validate ``files`` and add a version for each process whose content changed.

    All or nothing: every problem is found (the specs are serialized too) before a row is
    written, and a dry run does the same work without writing. With ``services`` (the
    handlers service tasks may call), the settings a draft may not keep are refused here too:
    an unknown service, parameters its handler does not take or misses, an undefined message.
    Files this process checked before are not checked again (see ``checked_bundles``).
    """
    checked = check_files(files, resolve_role, evaluate_timer, limits, services)
    problems = list(checked.problems)
    problems += message_start_clashes(session, {p.key: dict(p.start_messages) for p in checked.processes})
    if problems:
        raise DeploymentInvalid(f"{len(problems)} problem(s) found; nothing was deployed", problems=problems)
    report = DeployReport(dry_run=dry_run, warnings=list(checked.warnings))
    rows: list[ProcessDefinition] = []
    for process in checked.processes:
        latest = session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.process_key == process.key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
            .with_for_update()
        )
        if latest is not None and latest.checksum == process.checksum:
            report.unchanged.append((process.key, latest.version))
            continue
        version = (latest.version + 1) if latest is not None else 1
        report.deployed.append((process.key, version))
        if process.timer_start:
            report.timer_starts.add(process.key)
        rows.append(
            ProcessDefinition(
                process_key=process.key,
                version=version,
                name=process.name,
                checksum=process.checksum,
                files=process.file_map(),
                spec_json=process.spec_json,
                meta=process.meta(),
                deployed_by=deployed_by,
                deployed_at=clock.now(),
                change_summary=change_summary,
            )
        )
    if not dry_run:
        session.add_all(rows)
        _flush(session, [key for key, _ in report.deployed])
    return report


def _flush(session: Session, keys: list[str]) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise ConcurrentModification(
            f"another deploy of {', '.join(keys)} ran at the same time; nothing was deployed, "
            "run the deploy again"
        ) from None


class DefinitionCache:
    """Parsed specs, metadata and forms per deployed version, read once: a deployed version never changes.

    The large columns of a version (its spec, its files, its metadata with the forms) are not
    loaded with the rows that point to it; the cache reads what it lacks through the row's own
    session or, for a row whose session has closed, through ``sessions``. ``prepare`` adapts a
    spec once when it is restored (the sandbox's bounds on collections). With ``prepared_for``
    (what ``prepare`` depends on, e.g. the sandbox's limits), a spec is restored once for every
    cache of the process preparing alike (see ``shared_specs``).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session] | None = None,
        prepare: Callable[[ProcessSpecs], None] | None = None,
        prepared_for: Hashable | None = None,
    ) -> None:
        self._sessions = sessions
        self._prepare = prepare
        self._prepared_for = prepared_for
        self._specs: dict[int, ProcessSpecs] = {}
        self._meta: dict[int, dict[str, Any]] = {}
        self._forms: dict[tuple[int, str], FormDefinition] = {}
        self._lock = threading.Lock()

    def specs(self, definition: ProcessDefinition) -> ProcessSpecs:
        """Return the (shared, read-only) specs of a deployed version."""
        cached = self._specs.get(definition.id)
        if cached is None:
            spec_json = self._column(definition, "spec_json")
            if self._prepared_for is not None:
                cached = restored_specs(spec_json, self._prepare, self._prepared_for)
            else:
                cached = specs_from_json(spec_json)
                if self._prepare is not None:
                    self._prepare(cached)
            with self._lock:
                self._specs[definition.id] = cached
        return cached

    def meta(self, definition: ProcessDefinition) -> dict[str, Any]:
        """Return the (shared, read-only) metadata of a deployed version: tasks, lanes, forms."""
        cached = self._meta.get(definition.id)
        if cached is None:
            cached = self._column(definition, "meta")
            with self._lock:
                self._meta[definition.id] = cached
        return cached

    def form(
        self,
        definition: ProcessDefinition,
        form_key: str,
        parse: Callable[[str, str], FormDefinition],
    ) -> FormDefinition | None:
        """Return a parsed form of a deployed version, or None when the version has no such form."""
        cached = self._forms.get((definition.id, form_key))
        if cached is None:
            raw = self.meta(definition).get("forms", {}).get(form_key)
            if raw is None:
                return None
            cached = parse(form_key, json.dumps(raw, ensure_ascii=False))
            with self._lock:
                self._forms[(definition.id, form_key)] = cached
        return cached

    def files(self, definition: ProcessDefinition) -> dict[str, str]:
        """Return the source files of a deployed version (read when asked, not kept)."""
        files: dict[str, str] = self._column(definition, "files")
        return files

    def _column(self, definition: ProcessDefinition, column: str) -> Any:
        """A large column of the row: loaded already, through its session, or read by id."""
        state = inspect(definition)
        if column not in state.unloaded or state.session is not None or self._sessions is None:
            return getattr(definition, column)
        with self._sessions() as session:
            return session.scalar(
                select(getattr(ProcessDefinition, column)).where(ProcessDefinition.id == definition.id)
            )
