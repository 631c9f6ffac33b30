"""Where the time of ``Engine.complete`` goes: cProfile over the path's completions.

Only the ``complete`` calls run under the profiler. The figures are cumulative times per
completion of the engine's stages (they nest: a query inside the projections also counts
as SQL) and the functions with the most own time. cProfile slows Python-heavy code more
than C code, so read the shares, not the absolute milliseconds.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path

from bench.measure import run_cases
from bench.report import print_table
from engine.runtime import Engine

# (label, file suffix, function name): stages of one completion.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("Engine.complete (whole command)", "engine/runtime/tasks.py", "complete"),
    ("  lock + read the case and task rows", "engine/runtime/unit_of_work.py", "lock_instance_and_task"),
    ("  load: state_from_json (JSON parse + restore)", "engine/store/serialization.py", "state_from_json"),
    ("  form validation (validate_form)", "engine/runtime/submissions.py", "validate_form"),
    ("  SpiffWorkflow Task.run (the user task and the automatic ones)", "SpiffWorkflow/task.py", "run"),
    ("  engine steps (run_until_input_needed)", "engine/runtime/steps.py", "run_until_input_needed"),
    ("  projections (sync_instance)", "engine/store/projection.py", "sync_instance"),
    ("  save: state_to_json", "engine/store/serialization.py", "state_to_json"),
    ("  ORM flush (UPDATE/INSERTs)", "sqlalchemy/orm/session.py", "flush"),
    ("  commit", "sqlalchemy/orm/session.py", "commit"),
    ("  all SQL statements (cursor.execute)", "sqlalchemy/engine/default.py", "do_execute"),
    ("  JSON decode (json.loads: state and JSON columns)", "json/__init__.py", "loads"),
    ("  JSON encode (json.dumps)", "json/__init__.py", "dumps"),
)


def _find(stats: pstats.Stats, suffix: str, name: str) -> tuple[int, float]:
    """Calls and cumulative time of the outermost function of that name in that file.

    Same-named methods of one file call each other (Session.commit → SessionTransaction.commit):
    the one with the largest cumulative time is the outer one.
    """
    found = [
        (nc, ct)
        for (filename, _line, function), (_cc, nc, _tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if function == name and filename.replace("\\", "/").endswith(suffix)
    ]
    return max(found, key=lambda item: item[1], default=(0, 0.0))


def profile_completions(engine: Engine, cases: int, backend: str, top: int = 15) -> None:
    """Profile the completions of ``cases`` cases and print the stage and hot-spot tables."""
    run_cases(engine, 3)  # warm caches: parsed specs, forms, compiled SQL
    profiler = cProfile.Profile()

    def profiled(action: Callable[[], object]) -> float:
        profiler.enable()
        try:
            action()
        finally:
            profiler.disable()
        return 0.0

    completions = len(run_cases(engine, cases, timer=profiled).completions)
    stats = pstats.Stats(profiler)
    _calls, whole = _find(stats, *STAGES[0][1:])
    rows = []
    for label, suffix, name in STAGES:
        calls, cumulative = _find(stats, suffix, name)
        rows.append(
            (
                label,
                f"{calls / completions:.1f}",
                f"{cumulative / completions * 1000:.2f}",
                f"{cumulative / whole * 100:.0f}%" if whole else "-",
            )
        )
    print_table(
        f"Profile of Engine.complete (cProfile, {completions} completions, {backend})",
        ["stage (cumulative, nested)", "calls/completion", "ms/completion", "share"],
        rows,
    )
    packages: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = _package(filename, function)
        packages[key] = packages.get(key, 0.0) + tt
    print_table(
        f"Own time by library ({backend})",
        ["library", "own ms/completion", "share"],
        [
            (name, f"{tt / completions * 1000:.2f}", f"{tt / whole * 100:.0f}%" if whole else "-")
            for name, tt in sorted(packages.items(), key=lambda item: item[1], reverse=True)
            if tt / whole >= 0.005
        ],
    )
    hot = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    print_table(
        f"Top {top} functions by own time ({backend})",
        ["function", "calls/completion", "own ms/completion", "share"],
        [
            (
                _where(filename, line, function),
                f"{nc / completions:.1f}",
                f"{tt / completions * 1000:.3f}",
                f"{tt / whole * 100:.1f}%" if whole else "-",
            )
            for (filename, line, function), (_cc, nc, tt, _ct, _callers) in hot
        ],
    )


def _package(filename: str, function: str) -> str:
    """Which library (or part of afterflow) a profiled function belongs to."""
    path = filename.replace("\\", "/")
    if path == "~":
        return "sqlite3 driver (C)" if "sqlite3" in function else "C builtins (dict, isinstance, …)"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    for part in ("engine", "bench", "processes"):
        if f"/{part}/" in path and "/lib/python" not in path:
            return f"afterflow {part}/"
    if "/lib/python" in path:
        module = path.split("/lib/python", 1)[1].split("/", 2)[1]
        return f"stdlib {module.removesuffix('.py')}"
    return path


def _where(filename: str, line: int, function: str) -> str:
    path = Path(filename)
    short = "/".join(path.parts[-2:]) if len(path.parts) > 1 else filename
    return f"{short}:{line}({function})"
