"""What the sandbox costs per evaluation, in process and out of process: ``python -m bench.sandbox_cost``.

Measures, on a gateway condition and a short script over case data of 30 variables:

1. plain ``eval``/``exec`` of the same compiled source (no sandbox at all: the floor);
2. the sandbox in process (guards, attribute allowlist, trace function for the time and
   memory limits);
3. the same sandbox in a pre-forked worker process under ``RLIMIT_AS``/``RLIMIT_CPU``: the
   case data pickled over a pipe, evaluated there, the result pickled back;
4. a fresh process per evaluation (fork, evaluate, exit) — what isolating without a pool costs;

and prints each as microseconds per evaluation and as a ratio to the in-process sandbox.
Figures are printed, never asserted; docs/benchmarks.md keeps the results.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from engine.sandbox import SandboxEnvironment

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


def _worker(conn: Connection) -> None:
    """A pre-forked script process: hard OS limits, then evaluate whatever comes down the pipe."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (600, 600))
    env = SandboxEnvironment()
    while True:
        request = conn.recv()
        if request is None:
            return
        mode, source, data = request
        if mode == "eval":
            conn.send(env.evaluate(source, data))
        else:
            env.execute(source, data)
            conn.send(data)


def _fresh_process(mode: str, source: str, data: dict[str, Any]) -> None:
    pid = os.fork()
    if pid == 0:  # the child evaluates and leaves without cleaning up, as an isolating runner would
        env = SandboxEnvironment()
        env.evaluate(source, data) if mode == "eval" else env.execute(source, dict(data))
        os._exit(0)
    os.waitpid(pid, 0)


def measure(
    label: str,
    mode: str,
    source: str,
    plain: Any,
    env: SandboxEnvironment,
    data: dict[str, Any],
    pooled: Callable[[str, str], Any],
) -> list[tuple[str, float, float]]:
    """Time one source four ways; return (row label, µs each, ratio to the in-process sandbox)."""
    if mode == "eval":
        floor = per_call_us(lambda: eval(plain, dict(data)), 2000)
        sandbox = per_call_us(lambda: env.evaluate(source, data), 2000)
    else:
        floor = per_call_us(lambda: exec(plain, dict(data)), 2000)
        sandbox = per_call_us(lambda: env.execute(source, dict(data)), 2000)
    pool = per_call_us(lambda: pooled(mode, source), 500)
    fresh = per_call_us(lambda: _fresh_process(mode, source, data), 20)
    return [
        (f"{label}: plain eval/exec (no sandbox)", floor, floor / sandbox),
        (f"{label}: sandbox in process", sandbox, 1.0),
        (f"{label}: pre-forked process under RLIMIT_AS/CPU", pool, pool / sandbox),
        (f"{label}: fresh process per evaluation", fresh, fresh / sandbox),
    ]


def main() -> None:
    """Print the cost table."""
    data = case_data()
    env = SandboxEnvironment()
    plain_condition = compile(CONDITION, "<bench>", "eval")
    plain_script = compile(SCRIPT, "<bench>", "exec")
    parent, child = multiprocessing.get_context("fork").Pipe()
    worker = multiprocessing.get_context("fork").Process(target=_worker, args=(child,), daemon=True)
    worker.start()

    def pooled(mode: str, source: str) -> Any:
        parent.send((mode, source, data))
        return parent.recv()

    rows: list[tuple[str, float, float]] = []
    for label, mode, source, plain in (
        ("gateway condition", "eval", CONDITION, plain_condition),
        ("10-line script", "exec", SCRIPT, plain_script),
    ):
        if mode == "eval":
            assert env.evaluate(source, dict(data)) == pooled(mode, source)
        rows.extend(measure(label, mode, source, plain, env, data, pooled))
    parent.send(None)
    worker.join(timeout=5)
    print(f"{'evaluation':<66} {'µs each':>10} {'× in-process sandbox':>22}")
    for label, micros, ratio in rows:
        print(f"{label:<66} {micros:>10.1f} {ratio:>22.2f}")


if __name__ == "__main__":
    main()
