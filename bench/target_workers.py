"""A bench process of its own: starts or completes cases for a given time and says how many.

``python -m bench.target_workers URL start|complete`` builds its own engine over the database,
prepares (for ``complete``: starts 100 cases of a 30-task line untimed, more steps than one
process completes in the bench's time, so the rate is never capped by running out of tasks),
prints ``ready``, waits for ``go SECONDS`` on stdin, works that long and prints the number of
commands done. The parent runs one or two of these at once: processes, not threads, so the GIL
is not what is measured.
"""

from __future__ import annotations

import sys
import time

from bench.linear import WORKER, linear_key, open_task_ids
from engine.store.database import make_engine
from processes.wiring import build_engine

COMPLETE_LINE = 30
PREPARED_CASES = 100


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    engine = build_engine(make_engine(url))
    open_ids: list[int] = []
    if mode == "complete":
        open_ids = [engine.start(linear_key(COMPLETE_LINE), {}, WORKER).id for _ in range(PREPARED_CASES)]
    else:
        engine.start(linear_key(1), {}, WORKER)  # warm: parsed specs, compiled statements
    print("ready", flush=True)
    seconds = float(sys.stdin.readline().split()[1])
    done, deadline, turn = 0, time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        if mode == "start":
            engine.start(linear_key(1), {}, WORKER)
        else:
            instance_id = open_ids[turn % len(open_ids)]
            turn += 1
            ids = open_task_ids(engine, instance_id)
            if not ids:
                continue
            engine.complete(ids[0], {}, WORKER)
        done += 1
    print(done, flush=True)


if __name__ == "__main__":
    main()
