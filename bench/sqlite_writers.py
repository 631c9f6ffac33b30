"""Several processes writing one SQLite file, with the writer gate and with SQLite's busy handler alone.

``python -m bench.sqlite_writers`` runs one and then two bench processes over a fresh SQLite
file, starting one-task cases and completing steps of 30-task lines, once with the gate
(``engine.store.writer_gate``, the default) and once with plain ``sqlite3`` connections, which
wait for the write lock in SQLite's busy handler. It prints the commands per second and the
50th and 99th percentile and the longest time one command took.

A worker is ``python -m bench.sqlite_writers worker URL start|complete gated|plain``: it prints
``ready``, waits for ``go SECONDS`` on stdin, works that long and prints its count and times.
"""

from __future__ import annotations

import sqlite3
import sys
import time

from bench.bench_processes import run_together
from bench.databases import sqlite_database
from bench.engine_throughput import ready_engine
from bench.linear import WORKER, deploy_lines, linear_key, open_task_ids
from bench.report import load_average, print_table
from engine.store.database import make_engine
from processes.wiring import build_engine

SECONDS = 6.0
LINE = 30
PREPARED_CASES = 100
LABELS = {"gated": "gated", "plain": "busy handler only"}


def worker(url: str, mode: str, gate: str) -> None:
    """One bench process (see the module docstring)."""
    connect_args: dict[str, object] = {"timeout": 30, "check_same_thread": False}
    if gate == "plain":
        connect_args["factory"] = sqlite3.Connection
    engine = build_engine(make_engine(url, connect_args=connect_args))
    open_ids = (
        [engine.start(linear_key(LINE), {}, WORKER).id for _ in range(PREPARED_CASES)]
        if mode == "complete"
        else []
    )
    engine.start(linear_key(1), {}, WORKER)  # warm: parsed specs, compiled statements
    print("ready", flush=True)
    seconds = float(sys.stdin.readline().split()[1])
    times: list[float] = []
    deadline, turn = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        if mode == "start":
            engine.start(linear_key(1), {}, WORKER)
        else:
            ids = open_task_ids(engine, open_ids[turn % len(open_ids)])
            turn += 1
            if not ids:
                continue
            engine.complete(ids[0], {}, WORKER)
        times.append(time.perf_counter() - began)
    print(" ".join(f"{t:.6f}" for t in times), flush=True)


def run(url: str, mode: str, gate: str, processes: int) -> list[float]:
    """The command times of ``processes`` workers working at once for ``SECONDS``."""
    answers = run_together("bench.sqlite_writers", ["worker", url, mode, gate], processes, SECONDS)
    return sorted(float(t) for answer in answers for t in answer.split())


def main() -> None:
    rows = []
    with sqlite_database("writers") as db:
        deploy_lines(ready_engine(db), [1, LINE], timer_seconds=1.0)
        url = str(db.url)
        for mode in ("start", "complete"):
            for gate in ("gated", "plain"):
                for processes in (1, 2):
                    times = run(url, mode, gate, processes)
                    rows.append(
                        (
                            f"{mode}, {LABELS[gate]}, {processes}",
                            f"{len(times) / SECONDS:,.1f}",
                            f"{times[len(times) // 2] * 1000:.1f}",
                            f"{times[int(len(times) * 0.99)] * 1000:.1f}",
                            f"{times[-1] * 1000:.1f}",
                        )
                    )
    print_table(
        "processes writing one SQLite file",
        ["command, gate, processes", "commands/s", "p50 ms", "p99 ms", "max ms"],
        rows,
    )
    print(f"(load average at end {load_average()})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:5])
    else:
        main()
