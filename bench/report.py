"""Summaries of timing samples and plain-text tables."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Summary:
    """Median and tail of a set of durations (seconds)."""

    count: int
    median: float
    p95: float
    mean: float
    total: float

    @property
    def per_second(self) -> float:
        """Operations per second over the summed durations."""
        return self.count / self.total if self.total else math.inf


def summarize(samples: Sequence[float]) -> Summary:
    """Summarise durations; p95 is the nearest-rank 95th percentile."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return Summary(
        count=len(ordered),
        median=statistics.median(ordered),
        p95=ordered[rank - 1],
        mean=statistics.fmean(ordered),
        total=math.fsum(ordered),
    )


def ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals."""
    return f"{seconds * 1000:.2f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a titled table; the first column is left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print(f"\n== {title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to platform.processor())."""
    try:
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            if raw.lower().startswith("model name"):
                return raw.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def machine_rows(postgresql_version: str | None) -> list[tuple[str, str]]:
    """What the figures were measured on."""
    rows = [
        ("cpu", cpu_model()),
        ("cores", f"{usable_cores()} usable ({os.cpu_count()} online)"),
        ("os", f"{platform.system()} {platform.release()}"),
        ("python", platform.python_version()),
        ("sqlite", sqlite3.sqlite_version),
        ("SpiffWorkflow", version("SpiffWorkflow")),
        ("SQLAlchemy", version("SQLAlchemy")),
        ("load average at start", load_average()),
    ]
    if postgresql_version:
        rows.append(("postgresql server", postgresql_version))
        rows.append(("psycopg", version("psycopg")))
    return rows
