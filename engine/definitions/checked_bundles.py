"""A deploy's files checked into storable processes, kept by content so an unchanged set is checked once.

Checking the files of a deploy (reading, validating, parsing with SpiffWorkflow, serializing
the specs) takes about a second for all of afterflow's diagrams. A deploy of files this process
has already checked — the modeler deploying again, a restart deploying the same folder — takes
the stored outcome instead, when everything that decides it is the same:

- the files, by the sha256 of their names and contents;
- the sandbox's limits, and the service handlers' names with the parameters each takes;
- the role each lane asked about resolves to, asked again;
- each timer expression evaluated, evaluated again to a value the same timer kinds accept.

Only an outcome without problems is kept, as immutable values (the spec as its JSON, the
metadata as JSON), so no caller can change what the next deploy gets.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.definitions.draft_checks import _parameters, check_draft_settings
from engine.definitions.expressions import _check_timer_value
from engine.definitions.message_routes import start_messages
from engine.definitions.results import Problem, ProcessBundle
from engine.definitions.validate import validate_files
from engine.definitions.vocabulary import RoleResolver, TimerEvaluator
from engine.sandbox.limits import SandboxLimits
from engine.store.serialization import ProcessSpecs, specs_to_json

#: How many checked sets of files this process keeps (the oldest used goes first).
KEPT_SETS = 16
_TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


@dataclass(frozen=True)
class StorableProcess:
    """One checked executable process as its definition row stores it."""

    key: str
    name: str
    checksum: str
    files: tuple[tuple[str, str], ...]
    spec_json: str
    meta_json: str
    #: The message names that start a case of the process, each with its start event's id.
    start_messages: tuple[tuple[str, str], ...]
    #: Whether a case starts on a timer (a scheduled process).
    timer_start: bool

    def file_map(self) -> dict[str, str]:
        """The process's files, as a new dict."""
        return dict(self.files)

    def meta(self) -> dict[str, Any]:
        """The process's metadata (tasks, lanes, forms), as a new dict."""
        meta: dict[str, Any] = json.loads(self.meta_json)
        return meta


@dataclass(frozen=True)
class CheckedFiles:
    """What checking a deploy's files gave: storable processes, or the problems found."""

    processes: tuple[StorableProcess, ...]
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]


@dataclass(frozen=True)
class _Kept:
    checked: CheckedFiles
    roles: tuple[tuple[str | None, str | None], ...]
    timers: tuple[tuple[str, frozenset[str]], ...]


_kept: OrderedDict[Hashable, _Kept] = OrderedDict()
_lock = threading.Lock()


def check_files(
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: TimerEvaluator | None,
    limits: SandboxLimits | None,
    services: Mapping[str, Callable[..., Any]] | None,
) -> CheckedFiles:
    """Check ``files`` for a deploy (the service settings too when ``services`` are given).

    The specs are serialized only when nothing else is wrong; a spec the serializer refuses
    is a problem like any other.
    """
    limits = limits or SandboxLimits()
    key = _key(files, limits, services, evaluate_timer is not None)
    kept = _kept.get(key)
    if kept is not None and _still_holds(kept, resolve_role, evaluate_timer):
        with _lock:
            _kept[key] = kept
            _kept.move_to_end(key)
        return kept.checked
    roles: dict[str | None, str | None] = {}
    timers: dict[str, frozenset[str]] = {}

    def noted_role(lane: str | None) -> str | None:
        roles[lane] = resolve_role(lane)
        return roles[lane]

    def noted_timer(expression: str) -> Any:
        assert evaluate_timer is not None
        value = evaluate_timer(expression)
        timers[expression] = _timer_kinds(value)
        return value

    checked = _check(files, noted_role, noted_timer if evaluate_timer else None, limits, services)
    if not checked.problems:
        with _lock:
            _kept[key] = _Kept(checked, tuple(roles.items()), tuple(timers.items()))
            _kept.move_to_end(key)
            while len(_kept) > KEPT_SETS:
                _kept.popitem(last=False)
    return checked


def forget_checked_files() -> None:
    """Drop every kept outcome (the next deploy of any files checks them again)."""
    with _lock:
        _kept.clear()


def _check(
    files: Mapping[str, str],
    resolve_role: RoleResolver,
    evaluate_timer: TimerEvaluator | None,
    limits: SandboxLimits,
    services: Mapping[str, Callable[..., Any]] | None,
) -> CheckedFiles:
    result = validate_files(files, resolve_role, evaluate_timer, limits)
    problems = [*result.problems, *_setting_problems(files, limits, services)]
    processes = tuple(
        _storable(bundle, serialize=not problems, problems=problems) for bundle in result.bundles
    )
    return CheckedFiles(processes, tuple(problems), tuple(result.warnings))


def _setting_problems(
    files: Mapping[str, str], limits: SandboxLimits, services: Mapping[str, Callable[..., Any]] | None
) -> list[Problem]:
    """The side panel's settings a deploy refuses too (none checked when no services are given)."""
    if services is None:
        return []
    found = check_draft_settings(files, limits, services)
    return [Problem(p.element_id, str(p.message), p.file, code=p.message) for p in found]


def _storable(bundle: ProcessBundle, serialize: bool, problems: list[Problem]) -> StorableProcess:
    spec_json = meta_json = ""
    if serialize:
        try:
            spec_json = specs_to_json(bundle.specs)
            meta_json = json.dumps(bundle.meta, ensure_ascii=False)
        except Exception as error:  # a construct the serializer does not know: report, never raise
            problems.append(
                Problem(bundle.key, f"the process cannot be stored: {type(error).__name__}: {error}")
            )
    return StorableProcess(
        key=bundle.key,
        name=bundle.name,
        checksum=bundle.checksum,
        files=tuple(sorted(bundle.files.items())),
        spec_json=spec_json,
        meta_json=meta_json,
        start_messages=tuple(start_messages(bundle.specs).items()),
        timer_start=starts_on_timer(bundle.specs),
    )


def starts_on_timer(specs: ProcessSpecs) -> bool:
    """Tell whether a case of the process starts on a timer (its start event is a timer)."""
    return any(
        isinstance(ts, StartEvent) and isinstance(ts.event_definition, TimerEventDefinition)
        for ts in specs.spec.task_specs.values()
    )


def _key(
    files: Mapping[str, str],
    limits: SandboxLimits,
    services: Mapping[str, Callable[..., Any]] | None,
    evaluates_timers: bool,
) -> Hashable:
    """The files' digest with the limits and, per handler, its name and the parameters it takes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name, files[name]):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    handlers = None
    if services is not None:
        handlers = tuple(sorted((name, _signature(handler)) for name, handler in services.items()))
    return (digest.hexdigest(), limits, handlers, evaluates_timers)


def _signature(handler: Callable[..., Any]) -> tuple[frozenset[str], frozenset[str]] | None:
    """The keyword parameters a handler takes and those it requires (None when it takes any)."""
    parameters = _parameters(handler)
    return None if parameters is None else (frozenset(parameters[0]), frozenset(parameters[1]))


def _still_holds(kept: _Kept, resolve_role: RoleResolver, evaluate_timer: TimerEvaluator | None) -> bool:
    """Tell whether the roles and timers the kept outcome rests on still give the same answers."""
    if any(resolve_role(lane) != role for lane, role in kept.roles):
        return False
    for expression, kinds in kept.timers:
        assert evaluate_timer is not None
        try:
            value = evaluate_timer(expression)
        except Exception:
            return False
        if _timer_kinds(value) != kinds:
            return False
    return True


def _timer_kinds(value: Any) -> frozenset[str]:
    """The timer kinds (timeDate, timeDuration, timeCycle) that accept ``value``."""
    kinds = set()
    for kind in _TIMER_KINDS:
        try:
            _check_timer_value(kind, value)
        except Exception:
            continue
        kinds.add(kind)
    return frozenset(kinds)
