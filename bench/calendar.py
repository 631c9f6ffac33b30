"""What the company calendar costs: ``python -m bench.calendar [--cases N]``.

1. ``Engine.start`` of the repair case with the database calendar (one revision query per
   command) against the same engine over a fixed in-memory calendar: the ratio is the price
   of seeing another process's calendar change without a restart;
2. re-timing after a holiday is declared on the Monday every open case's response limit is
   counted over: milliseconds per case (one transaction each), as a ratio to one start.

SQLite in a fresh temporary file; the clock is frozen on Friday 2026-12-18 16:00 (Shanghai).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bench.databases import sqlite_database
from bench.measure import start_case
from bench.scenario import prepare
from engine import clock
from engine.calendar import WorkingCalendar, store
from engine.calendar.package_days import HOLIDAY, SpecialDay
from engine.retiming import change_calendar
from engine.runtime import Engine, EngineConfig
from engine.users import Actor
from processes.roles import role_for_lane
from processes.services import SERVICES
from processes.wiring import build_engine


def _median_start_ms(engine: Engine, cases: int) -> float:
    return statistics.median(start_case(engine)[1] for _ in range(cases)) * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    cases = parser.parse_args().cases
    clock.freeze(datetime(2026, 12, 18, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with sqlite_database("calendar") as db:
        company = build_engine(db)
        prepare(company)
        fixed = Engine(
            db, EngineConfig(resolve_role=role_for_lane, calendar=WorkingCalendar(), services=SERVICES)
        )
        start_case(company), start_case(fixed)  # warm caches
        database_ms = _median_start_ms(company, cases)
        fixed_ms = _median_start_ms(fixed, cases)
        admin = Actor("admin", frozenset({"admin"}))
        began = time.perf_counter()
        moved = change_calendar(
            company,
            lambda session: store.set_days(
                session, [SpecialDay(date(2026, 12, 21), HOLIDAY, "bench")], "admin"
            ),
            admin,
        )
        retime_s = time.perf_counter() - began
    touched = len({item.instance_id for item in moved})
    per_case_ms = retime_s * 1000 / max(touched, 1)
    print(f"start, database calendar   {database_ms:8.2f} ms (median of {cases})")
    print(f"start, fixed calendar      {fixed_ms:8.2f} ms")
    print(f"ratio                      {database_ms / fixed_ms:8.2f}")
    print(f"re-timed {len(moved)} due times in {touched} cases: {per_case_ms:.2f} ms per case")
    print(f"re-timing one case / one start  {per_case_ms / database_ms:8.2f}")


if __name__ == "__main__":
    main()
