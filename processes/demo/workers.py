"""Run the demo load's groups of cases in worker processes, one per core, on one database.

Each worker opens its own engine, replays its group of the seed's cases on its own frozen clock
and fires only its own cases' timers (``DemoLoad._fire_timers``), so the groups never move one
another's cases. The workers report every started case on a queue, which the calling process
turns into its progress bar, and their ids, commands and planned mix when done. A worker that
fails ends the load with its error once the others are stopped.

Workers are spawned (not forked): a fork would copy the caller's database connections and the
script pool's pipes. SQLite needs WAL (``engine.store.database`` sets it) so that the workers'
reads do not wait for one another's writes; their writes take turns.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from engine.runtime import Engine
from processes.demo.load import Outcome, run_group

#: Seconds between two looks at whether the workers are still alive.
_POLL = 1.0


def _engine_over(url: str) -> Engine:
    from engine.store.database import make_engine
    from processes.wiring import build_engine

    return build_engine(make_engine(url))


def engine_over(url: str) -> Callable[[], Engine]:
    """A picklable way for a worker to open afterflow's engine over the database at ``url``."""
    return partial(_engine_over, url)


def _work(
    open_engine: Callable[[], Engine],
    cases: int,
    seed: int,
    end: datetime,
    days: int,
    group: int,
    groups: int,
    messages: Any,
) -> None:
    try:
        engine = open_engine()
        outcome = run_group(
            engine, cases, seed, end, days, group, groups, lambda n: messages.put(("progress", group, n))
        )
        messages.put(("done", group, outcome))
    except BaseException:
        messages.put(("failed", group, traceback.format_exc()))
        raise


def run_in_workers(
    open_engine: Callable[[], Engine],
    cases: int,
    seed: int,
    end: datetime,
    days: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Run the seed's ``cases`` split into ``workers`` groups, each in its own process."""
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    processes = [
        context.Process(
            target=_work,
            args=(open_engine, cases, seed, end, days, group, workers, messages),
            name=f"afterflow-demo-load-{group}",
        )
        for group in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes: dict[int, Outcome] = {}
    try:
        while len(outcomes) < workers:
            try:
                kind, group, payload = messages.get(timeout=_POLL)
            except queue.Empty:
                dead = [
                    p for i, p in enumerate(processes) if i not in outcomes and p.exitcode not in (None, 0)
                ]
                if dead:
                    raise RuntimeError(
                        f"demo-load worker {dead[0].name} ended with {dead[0].exitcode}"
                    ) from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(payload)
            elif kind == "done":
                outcomes[group] = payload
            else:
                raise RuntimeError(f"demo-load worker {group} failed:\n{payload}")
    finally:
        for process in processes:
            if process.is_alive() and len(outcomes) < workers:
                process.terminate()
            process.join()
    total = Outcome([], 0, 0, Counter())
    for group in sorted(outcomes):
        total.add(outcomes[group])
    return total
