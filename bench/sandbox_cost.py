"""What the sandbox costs per evaluation, in process and out of process: ``python -m bench.sandbox_cost``.

Measures, on a gateway condition and a short script over case data of 30 variables:

1. plain ``eval``/``exec`` of the same compiled source (no sandbox at all: the floor);
2. the sandbox in process with script processes off (``AFTERFLOW_SCRIPT_PROCESSES=0``: the
   sandbox before the pool existed);
3. the sandbox as shipped: a simple source (the condition) runs in process after its class is
   looked up, any other (the script, which loops) goes through the pool of script processes
   under ``RLIMIT_AS``/``RLIMIT_CPU`` — case data pickled there, the answer back as JSON;
4. each source sent through the pool whatever its class (the pool's round trip for it);
5. a fresh process per evaluation (fork, evaluate, exit) — what isolating without a pool costs;

and prints each as microseconds per evaluation and as a ratio to the in-process sandbox.
Figures are printed, never asserted; docs/benchmarks.md keeps the results.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.sandbox import SandboxEnvironment, SandboxLimits
from engine.sandbox.script_processes import pool_for, shutdown
from engine.sandbox.simple import is_simple_source

CONDITION = "amount > 1000 and category == 'A' and customer_name.startswith('华东')"
SCRIPT = """total = 0
for line in lines:
    total = total + line['qty'] * line['price']
discount = total * 0.05 if total > 1000 else 0
summary = f'{customer_name}: {total - discount:.2f}'
"""


def case_data() -> dict[str, Any]:
    """Case data as a repair case holds it: 30 variables, a list of lines."""
    data: dict[str, Any] = {f"field_{i}": f"value {i}" for i in range(25)}
    data.update(
        amount=1520,
        category="A",
        customer_name="华东精密机械有限公司",
        received_at=datetime(2026, 11, 20, 7, 30, tzinfo=UTC),
        lines=[{"qty": i % 5 + 1, "price": 12.5 * i} for i in range(10)],
    )
    return data


def per_call_us(run: Callable[[], Any], repeat: int) -> float:
    """Median of five batches, in microseconds per call."""
    batches = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(repeat):
            run()
        batches.append((time.perf_counter() - began) / repeat * 1e6)
    return statistics.median(batches)


def per_call_pair_us(first: Callable[[], Any], second: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Like per_call_us for two contenders, their batches interleaved so load hits both alike."""
    batches: tuple[list[float], list[float]] = ([], [])
    for _ in range(7):
        for run, times in ((first, batches[0]), (second, batches[1])):
            began = time.perf_counter()
            for _ in range(repeat):
                run()
            times.append((time.perf_counter() - began) / repeat * 1e6)
    return statistics.median(batches[0]), statistics.median(batches[1])


def _fresh_process(mode: str, source: str, data: dict[str, Any]) -> None:
    pid = os.fork()
    if pid == 0:  # the child evaluates and leaves without cleaning up, as an isolating runner would
        env = SandboxEnvironment(limits=SandboxLimits(script_processes=0))
        env.evaluate(source, data) if mode == "eval" else env.execute(source, dict(data))
        os._exit(0)
    os.waitpid(pid, 0)


def measure(
    label: str, mode: str, source: str, plain: Any, data: dict[str, Any]
) -> list[tuple[str, float, float]]:
    """Time one source five ways; return (row label, µs each, ratio to the in-process sandbox)."""
    off = SandboxEnvironment(limits=SandboxLimits(script_processes=0))
    shipped_limits = SandboxLimits()
    shipped = SandboxEnvironment(limits=shipped_limits)
    pool = pool_for(shipped_limits)
    assert pool is not None

    def run(env: SandboxEnvironment) -> Callable[[], Any]:
        if mode == "eval":
            return lambda: env.evaluate(source, data)
        return lambda: env.execute(source, dict(data))

    def pooled() -> Any:
        return pool.run(mode, source, data, None, {}, shipped_limits)

    pooled()  # start the pool: its first process pays for the fork server
    if mode == "eval":
        floor = per_call_us(lambda: eval(plain, dict(data)), 2000)
    else:
        floor = per_call_us(lambda: exec(plain, dict(data)), 2000)
    sandbox, as_shipped = per_call_pair_us(run(off), run(shipped), 1000)
    through_pool = per_call_us(pooled, 500)
    fresh = per_call_us(lambda: _fresh_process(mode, source, data), 20)
    where = "in process" if is_simple_source(source, mode, frozenset()) else "in a script process"
    return [
        (f"{label}: plain eval/exec (no sandbox)", floor, floor / sandbox),
        (f"{label}: sandbox in process (script processes off)", sandbox, 1.0),
        (f"{label}: sandbox as shipped ({where})", as_shipped, as_shipped / sandbox),
        (f"{label}: through the pool of script processes", through_pool, through_pool / sandbox),
        (f"{label}: fresh process per evaluation", fresh, fresh / sandbox),
    ]


def main() -> None:
    """Print the cost table."""
    data = case_data()
    rows: list[tuple[str, float, float]] = []
    for label, mode, source in (("gateway condition", "eval", CONDITION), ("10-line script", "exec", SCRIPT)):
        plain = compile(source, "<bench>", mode)
        rows.extend(measure(label, mode, source, plain, data))
    shutdown()
    print(f"{'evaluation':<72} {'µs each':>10} {'× in-process sandbox':>22}")
    for label, micros, ratio in rows:
        print(f"{label:<72} {micros:>10.1f} {ratio:>22.2f}")


if __name__ == "__main__":
    main()
