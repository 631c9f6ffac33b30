"""Operations at scale: /metrics and /readyz scrapes, backup and restore, at 1,000 and 10,000 cases.

``python -m bench.operations [--postgres URL]``: fills a SQLite database with generated cases
(cloned by SQL to the sizes measured, as ``bench.cases`` does), then times a scrape of each
endpoint (median of ``--runs``) and one backup and restore per method, and prints the ratio
between the sizes. With ``--postgres`` (an empty scratch database and a second one named
``<name>_bench_restore`` it creates) the PostgreSQL methods are timed too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import MetaData, create_engine, make_url, text

from bench.cases import END, clone_until, fresh_engine
from engine.operations.backup import backup
from engine.operations.restore import restore
from engine.runtime import Engine
from engine.store.database import make_engine
from processes.demo.load import load_cases
from web.app import create_app
from web.settings import Settings, load_settings

SIZES = (1_000, 10_000)


def scrape_ms(engine: Engine, folder: Path, path: str, runs: int) -> float:
    """Median milliseconds of one GET of ``path``."""
    settings = Settings("sqlite://", "b" * 32, folder, load_settings(folder).calendar)
    client = create_app({"TESTING": True, "AFTERFLOW_ENGINE": engine}, settings).test_client()
    client.get(path)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def round_trip_s(source: SqlEngine, target_url: str, folder: Path, method: str) -> tuple[float, float, int]:
    """Seconds to back up and to restore with ``method``, and the archive's size in bytes."""
    archive = folder / f"{method}.zip"
    began = time.perf_counter()
    backup(source, archive, None, method)
    taken = time.perf_counter() - began
    target = make_engine(target_url)
    try:
        began = time.perf_counter()
        restore(target, archive)
        restored = time.perf_counter() - began
    finally:
        target.dispose()
    return taken, restored, archive.stat().st_size


def empty_postgres(url: str, suffix: str) -> str:
    """A fresh database beside ``url`` on the same server."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def copy_to_postgres(source: SqlEngine, url: str, folder: Path) -> SqlEngine:
    """The SQLite data moved into the PostgreSQL database ``url`` (its tables dropped first)."""
    db = make_engine(url)
    with db.begin() as connection:
        meta = MetaData()
        meta.reflect(connection)
        meta.drop_all(connection)
    backup(source, folder / "move.zip")
    restore(db, folder / "move.zip")
    return db


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generated", type=int, default=60)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default=None, help="an empty scratch PostgreSQL database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="afterflow-bench-ops-"))
    rows: list[tuple[str, int, float]] = []
    for size in SIZES:
        # One database per size: clones are named after the generated case they copy.
        engine = fresh_engine(folder / f"ops{size}.db")
        load_cases(engine, args.generated, seed=2026, end=END, days=150)
        clone_until(engine, size)
        for path in ("/metrics", "/readyz"):
            rows.append(
                (f"GET {path} ms (median of {args.runs})", size, scrape_ms(engine, folder, path, args.runs))
            )
        for method in ("sqlite-backup", "logical"):
            taken, restored, size_bytes = round_trip_s(
                engine.db, f"sqlite:///{folder / f'r{size}{method}.db'}", folder, method
            )
            rows += [
                (f"sqlite {method} backup s", size, taken),
                (f"sqlite {method} restore s", size, restored),
            ]
            rows.append((f"sqlite {method} archive MB", size, size_bytes / 1e6))
        if args.postgres:
            pg = copy_to_postgres(engine.db, args.postgres, folder)
            for method in ("pg_dump", "logical"):
                target = empty_postgres(args.postgres, "bench_restore")
                taken, restored, size_bytes = round_trip_s(pg, target, folder, method)
                rows += [
                    (f"postgresql {method} backup s", size, taken),
                    (f"postgresql {method} restore s", size, restored),
                ]
            pg.dispose()
    print(f"afterflow operations — {args.generated} generated cases cloned to each size")
    print(f"{'measure':<42} {SIZES[0]:>10,} {SIZES[1]:>10,}  ratio")
    for name in dict.fromkeys(row[0] for row in rows):
        small, large = (value for measure, _, value in rows if measure == name)
        print(f"{name:<42} {small:>10.2f} {large:>10.2f}  {large / small if small else 0:>5.1f}×")


if __name__ == "__main__":
    main()
