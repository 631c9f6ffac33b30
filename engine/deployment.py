"""Deploy validated bundles as numbered versions per process key, and cache parsed versions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions import Problem, RoleResolver, validate_files
from engine.errors import DeploymentInvalid
from engine.forms import FormDefinition
from engine.models import ProcessDefinition
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
) -> DeployReport:
    """Validate ``files`` and add a version for each process whose content changed."""
    result = validate_files(files, resolve_role, evaluate_timer)
    if not result.ok:
        raise DeploymentInvalid(
            f"{len(result.problems)} problem(s) found; nothing was deployed", problems=result.problems
        )
    report = DeployReport(dry_run=dry_run)
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
        if dry_run:
            continue
        session.add(
            ProcessDefinition(
                process_key=bundle.key,
                version=version,
                name=bundle.name,
                checksum=bundle.checksum,
                files=bundle.files,
                spec_json=specs_to_json(bundle.specs),
                meta=bundle.meta,
                deployed_by=deployed_by,
                deployed_at=clock.now(),
                change_summary=change_summary,
            )
        )
    session.flush()
    return report


class DefinitionCache:
    """Parsed specs and forms per deployed version; restoring a spec is far slower than a lookup."""

    def __init__(self) -> None:
        self._specs: dict[int, ProcessSpecs] = {}
        self._forms: dict[tuple[int, str], FormDefinition] = {}
        self._lock = threading.Lock()

    def specs(self, definition: ProcessDefinition) -> ProcessSpecs:
        """Return the (shared, read-only) specs of a deployed version."""
        cached = self._specs.get(definition.id)
        if cached is None:
            cached = specs_from_json(definition.spec_json)
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
