"""What the outbox costs a command: ``python -m bench.notifications [--cases N]``.

``Engine.start`` of the repair case (its first task offered to customer service, so notification
rows are written in the command's transaction) with the outbox installed, against the same
database and diagrams through an engine without it. The ratio is the price of writing
notifications with the command. Then the delivery worker's pace is printed for a channel that
accepts at once (the cost of claiming, renewing and settling each e-mail row).

SQLite in a fresh temporary file; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.databases import sqlite_database
from bench.measure import start_case
from bench.scenario import prepare
from engine import clock
from engine.outbox.delivery import Deliverer
from engine.outbox.message import Outgoing
from engine.outbox.models import Notification
from engine.outbox.preferences import save_role_default
from engine.runtime import Engine
from engine.store.models import User, UserRole
from processes.notifications.wording import make_renderer
from processes.wiring import build_engine, engine_config


class _Accepting:
    """A channel that takes every notification at once."""

    def send(self, outgoing: Outgoing) -> None:
        return None


def _interleaved_ms(first: Engine, second: Engine, cases: int) -> tuple[float, float]:
    """Median start times of both engines, alternating so that both see the same database."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(cases):
        times[0].append(start_case(first)[1])
        times[1].append(start_case(second)[1])
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    cases = parser.parse_args().cases
    clock.freeze(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with sqlite_database("notifications") as db:
        told = build_engine(db)
        prepare(told)
        with told.writer.begin() as session:
            # A colleague of the one who starts the cases: the first task is offered to them.
            colleague = User(
                username="bench_cs_colleague",
                display_name="bench_cs_colleague",
                password_hash="!",
                active=True,
                created_at=clock.now(),
            )
            colleague.roles = [UserRole(role="customer_service")]
            session.add(colleague)
            save_role_default(session, "customer_service", ["task_offered"], ["inapp", "email"], "bench")
        silent = Engine(db, engine_config())
        start_case(told), start_case(silent)  # warm caches
        with_ms, without_ms = _interleaved_ms(told, silent, cases)
        with told.sessions() as session:
            pending = session.query(Notification).filter(Notification.state == "pending").count()
        worker = Deliverer(told.writer, {"email": _Accepting()}, make_renderer(), batch=50)
        began = time.perf_counter()
        sent = worker.drain(rounds=10_000).delivered
        per_row_ms = (time.perf_counter() - began) * 1000 / max(sent, 1)
    print(f"start, outbox installed    {with_ms:8.2f} ms (median of {cases}, interleaved; two rows each)")
    print(f"start, no outbox           {without_ms:8.2f} ms")
    print(f"ratio                      {with_ms / without_ms:8.2f}")
    print(f"delivered {sent} of {pending} pending e-mails: {per_row_ms:.2f} ms per notification")
    print(f"one delivery / one start   {per_row_ms / with_ms:8.2f}")


if __name__ == "__main__":
    main()
