"""Deploy validated bundles as numbered versions per process key, and cache parsed versions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions import Problem, ProcessBundle, RoleResolver, validate_files
from engine.errors import ConcurrentModification, DeploymentInvalid
from engine.forms import FormDefinition
from engine.models import ProcessDefinition
from engine.sandbox.limits import SandboxLimits
from engine.serialization import ProcessSpecs, specs_from_json, specs_to_json


@dataclass
class DeployReport:
    """What a deploy did: new versions, processes left unchanged, and problems (none on success)."""

    deployed: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False


def deploy_files(
    session: Session,
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: Callable[[str], Any] | None,
    deployed_by: str | None,
    change_summary: str | None,
    dry_run: bool,
    limits: SandboxLimits | None = None,
) -> DeployReport:
    """Validate ``files`` and add a version for each process whose content changed.

    All or nothing: every problem is found (the specs are serialized too) before a row is
    written, and a dry run does the same work without writing.
    """
    result = validate_files(files, resolve_role, evaluate_timer, limits)
    problems = list(result.problems)
    serialized = {} if problems else _serialize(result.bundles, problems)
    if problems:
        raise DeploymentInvalid(f"{len(problems)} problem(s) found; nothing was deployed", problems=problems)
    report = DeployReport(dry_run=dry_run)
    rows: list[ProcessDefinition] = []
    for bundle in result.bundles:
        latest = session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.process_key == bundle.key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
            .with_for_update()
        )
        if latest is not None and latest.checksum == bundle.checksum:
            report.unchanged.append((bundle.key, latest.version))
            continue
        version = (latest.version + 1) if latest is not None else 1
        report.deployed.append((bundle.key, version))
        rows.append(
            ProcessDefinition(
                process_key=bundle.key,
                version=version,
                name=bundle.name,
                checksum=bundle.checksum,
                files=bundle.files,
                spec_json=serialized[bundle.key],
                meta=bundle.meta,
                deployed_by=deployed_by,
                deployed_at=clock.now(),
                change_summary=change_summary,
            )
        )
    if not dry_run:
        session.add_all(rows)
        _flush(session, [key for key, _ in report.deployed])
    return report


def _serialize(bundles: list[ProcessBundle], problems: list[Problem]) -> dict[str, str]:
    """The spec JSON of each bundle; a spec the serializer refuses becomes a problem."""
    serialized: dict[str, str] = {}
    for bundle in bundles:
        try:
            serialized[bundle.key] = specs_to_json(bundle.specs)
            json.dumps(bundle.meta)
        except Exception as error:  # a construct the serializer does not know: report, never raise
            problems.append(
                Problem(bundle.key, f"the process cannot be stored: {type(error).__name__}: {error}")
            )
    return serialized


def _flush(session: Session, keys: list[str]) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise ConcurrentModification(
            f"another deploy of {', '.join(keys)} ran at the same time; nothing was deployed, "
            "run the deploy again"
        ) from None


class DefinitionCache:
    """Parsed specs and forms per deployed version; restoring a spec is far slower than a lookup."""

    def __init__(self, prepare: Callable[[ProcessSpecs], None] | None = None) -> None:
        self._prepare = prepare
        self._specs: dict[int, ProcessSpecs] = {}
        self._forms: dict[tuple[int, str], FormDefinition] = {}
        self._lock = threading.Lock()

    def specs(self, definition: ProcessDefinition) -> ProcessSpecs:
        """Return the (shared, read-only) specs of a deployed version."""
        cached = self._specs.get(definition.id)
        if cached is None:
            cached = specs_from_json(definition.spec_json)
            if self._prepare is not None:
                self._prepare(cached)
            with self._lock:
                self._specs[definition.id] = cached
        return cached

    def form(
        self,
        definition_id: int,
        form_key: str,
        raw: dict[str, Any],
        parse: Callable[[str, str], FormDefinition],
    ) -> FormDefinition:
        """Return a parsed form of a deployed version."""
        cached = self._forms.get((definition_id, form_key))
        if cached is None:
            cached = parse(form_key, json.dumps(raw, ensure_ascii=False))
            with self._lock:
                self._forms[(definition_id, form_key)] = cached
        return cached
