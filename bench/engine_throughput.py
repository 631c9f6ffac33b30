"""Engine throughput on the repair service diagram: ``python -m bench.engine_throughput``.

One run measures, on the same diagram (diagrams/repair_service.bpmn) and the same path
(start → remote guidance, not solved → dispatch, category B → … → repair → acceptance,
accepted → follow-up → end; the tasks are answered as bench/scenario.py says, and the
path actually taken is printed):

1. task completions per second through ``Engine.complete`` (form validation, engine
   steps, projections, audit events, commit) on SQLite in a fresh temporary file and, when
   ``DATABASE_URL`` names a PostgreSQL server, on PostgreSQL in a scratch database the
   bench creates there and drops afterwards;
2. the floor: plain in-memory SpiffWorkflow with the same spec, data and sandboxed script
   engine, restoring and saving a JSON document around every completion;
3. the ratio of the two;
4. the cost of one completion with 100 and with 10,000 cases already stored;
5. the stored state size per step of the path and the time of one ``Engine.start``;

and, as extras, how a completion's cost grows with the size of a case (rework loops) and,
with ``--profile``, where the time of ``Engine.complete`` goes.

The engine clock is left real. Figures are printed, never asserted; docs/benchmarks.md
keeps the results and how to read them.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from bench.databases import postgresql_server_version, scratch_database
from bench.filling import clone_cases, make_templates, start_cases, stored_instances, verify_clones
from bench.floor import FloorContender, ServiceRecorder, floor_script_engine
from bench.measure import (
    Contender,
    EngineContender,
    ReworkPoint,
    Rounds,
    interleaved_rounds,
    rework_probe,
    run_cases,
)
from bench.profiling import profile_completions
from bench.report import Summary, load_average, machine_rows, ms, print_table, summarize
from bench.scenario import diagram_rows, prepare
from bench.sqltiming import StatementTimer
from engine.runtime import Engine
from processes.wiring import build_engine

AUTO_START_LIMIT = 500  # fill through Engine.start up to this many cases, clone beyond
WARMUP_CASES = 3


@dataclass(frozen=True)
class Options:
    """The command line, parsed."""

    cases: int
    repeat: int
    skip_throughput: bool
    skip_scale: bool
    scale_sizes: list[int]
    scale_completions: int
    fill: str
    rework_loops: list[int]
    profile: int
    database_url: str | None


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine_throughput",
        description=(
            "Measure afterflow's engine commands against plain SpiffWorkflow on the repair service "
            "diagram. Set DATABASE_URL (postgresql+psycopg://user@host:port/db) to measure PostgreSQL "
            "too: the bench creates its own scratch database on that server and drops it afterwards."
        ),
    )
    parser.add_argument(
        "--cases",
        type=int,
        default=30,
        help="cases per round for throughput (each completes every task of the path)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions after the warm-up")
    parser.add_argument(
        "--skip-throughput", action="store_true", help="skip sections 1–3 and 5 (throughput, floor, sizes)"
    )
    parser.add_argument(
        "--skip-scale", action="store_true", help="skip the 100 vs 10,000 stored cases section"
    )
    parser.add_argument(
        "--scale-sizes",
        default="100,10000",
        help="comma-separated numbers of stored cases at which to time completions",
    )
    parser.add_argument(
        "--scale-completions", type=int, default=200, help="completions timed at each scale size"
    )
    parser.add_argument(
        "--fill",
        choices=("auto", "start", "clone"),
        default="auto",
        help=(
            f"how stored cases are made: Engine.start, cloning real cases' rows, or auto "
            f"(Engine.start up to {AUTO_START_LIMIT} cases, clone beyond)"
        ),
    )
    parser.add_argument(
        "--rework-loops",
        default="0,5,20",
        help="instance-size probe: rework loops (repair → rejected acceptance) at which to time; '' skips",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="CASES",
        help="also profile the completions of CASES cases with cProfile on each backend and print where time goes",
    )
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 1 or args.scale_completions < 1:
        parser.error("--cases, --repeat and --scale-completions must be at least 1")
    try:
        sizes = sorted({int(s) for s in args.scale_sizes.split(",") if s.strip()})
        loops = sorted({int(s) for s in args.rework_loops.split(",") if s.strip()})
    except ValueError:
        parser.error("--scale-sizes and --rework-loops take comma-separated whole numbers")
    return Options(
        cases=args.cases,
        repeat=args.repeat,
        skip_throughput=args.skip_throughput,
        skip_scale=args.skip_scale,
        scale_sizes=sizes,
        scale_completions=args.scale_completions,
        fill=args.fill,
        rework_loops=loops,
        profile=args.profile,
        database_url=os.environ.get("DATABASE_URL") or None,
    )


def backends(options: Options) -> list[str]:
    """SQLite always; PostgreSQL when DATABASE_URL names one."""
    url = options.database_url
    return ["sqlite"] + (["postgresql"] if url and url.startswith("postgresql") else [])


def ready_engine(db: SqlEngine) -> Engine:
    """The product's engine over ``db``, with the diagrams deployed and the path's users created."""
    engine = build_engine(db)
    prepare(engine)
    return engine


# --- 1–3, 5: throughput, floor, ratio, sizes, start ------------------------------------------------

FLOOR_LABELS = {
    "spiff": "floor: SpiffWorkflow in memory + JSON round trip (SPIFF_CONFIG)",
    "state-only": "in memory + afterflow's state-only JSON (no database)",
}


def measure_throughput(options: Options) -> dict[str, Rounds]:
    """Engine on each backend and both floors, in interleaved rounds of the same cases."""
    with ExitStack() as stack:
        contenders: dict[str, Contender] = {}
        recorder: ServiceRecorder | None = None
        for backend in backends(options):
            db = stack.enter_context(scratch_database(backend, "throughput", options.database_url))
            engine = ready_engine(db)
            if recorder is None:  # the floor replays what this engine's service handlers answer
                recorder, source = ServiceRecorder(engine), engine
            contenders[f"afterflow Engine.complete, {backend}"] = EngineContender(engine)
        assert recorder is not None
        for name, label in FLOOR_LABELS.items():
            contenders[label] = FloorContender(name, floor_script_engine(source, recorder))
        results = interleaved_rounds(contenders, options.cases, options.repeat, WARMUP_CASES)
    paths = {label: tuple(result.timings.path) for label, result in results.items()}
    if len(set(paths.values())) != 1:
        raise RuntimeError(f"the contenders took different paths: {paths}")
    return results


def rate_range(rates: Sequence[float]) -> str:
    """Median completions/s of the rounds with their spread."""
    return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f})"


def print_throughput(results: dict[str, Rounds], options: Options) -> None:
    """Tables 1–3: completions per second, per-step cost, and the ratio to the floor."""
    floor_rate = results[FLOOR_LABELS["spiff"]].median_rate
    memory_rate = results[FLOOR_LABELS["state-only"]].median_rate
    rows = []
    for label, result in results.items():
        s = summarize(result.timings.completions)
        rows.append(
            (
                label,
                rate_range(result.rates),
                ms(s.median),
                ms(s.p95),
                ms(s.mean),
                ms(statistics.fmean(result.timings.completion_cpu)),
                f"{floor_rate / result.median_rate:.2f}×",
                f"{memory_rate / result.median_rate:.2f}×",
            )
        )
    path = next(iter(results.values())).timings.path
    completions = options.cases * len(path)
    print_table(
        f"Task completions per second ({options.cases} cases × {len(path)} completions = {completions} "
        f"per round; median of {options.repeat} interleaved rounds (min–max); {WARMUP_CASES} warm-up cases)",
        [
            "measure",
            "completions/s",
            "median ms",
            "p95 ms",
            "mean ms",
            "CPU ms (bench process)",
            "time vs floor",
            "time vs in-memory state-only",
        ],
        rows,
    )
    short = {label: label.split(",")[-1].strip() if "," in label else label for label in results}
    short[FLOOR_LABELS["spiff"]] = "floor (SPIFF_CONFIG)"
    short[FLOOR_LABELS["state-only"]] = "in memory, state-only"
    print_table(
        "Median ms per completion, by task of the path",
        ["task", *[short[label] for label in results]],
        [
            (spec_id, *[ms(summarize(r.timings.per_step[spec_id]).median) for r in results.values()])
            for spec_id in dict.fromkeys(path)
        ],
    )


def print_sizes_and_starts(results: dict[str, Rounds]) -> None:
    """Table 5: stored state per step, and the time of one Engine.start."""
    ours = next(iter(results.values())).timings.sizes
    theirs = results[FLOOR_LABELS["spiff"]].timings.sizes
    stages = ["after start", *[f"after {spec_id}" for spec_id in next(iter(results.values())).timings.path]]
    print_table(
        "Stored state per case (bytes of process_instance.state, UTF-8) at each step",
        ["stage", "afterflow state", "SpiffWorkflow document (spec embedded)"],
        [(stage, f"{a:,}", f"{b:,}") for stage, a, b in zip(stages, ours, theirs, strict=True)],
    )
    rows = []
    for label, result in results.items():
        s = summarize(result.timings.starts)
        name = label.replace("Engine.complete", "Engine.start")
        rows.append((name, s.count, ms(s.median), ms(s.p95)))
    print_table(
        "Time of one start (start form → first human task)", ["measure", "n", "median ms", "p95 ms"], rows
    )


# --- 4: cost against the number of stored cases ----------------------------------------------------


@dataclass(frozen=True)
class ScalePoint:
    """Completions timed with ``stored`` cases in the database, and how they got there."""

    stored: int
    fill_method: str
    filled: int
    fill_seconds: float
    completions: Summary
    completion_cpu: Summary
    starts: Summary
    statements: StatementTimer


def fill_to(engine: Engine, db: SqlEngine, target: int, options: Options) -> tuple[str, int, float]:
    """Bring the stored cases up to ``target``; return (method, cases added, seconds)."""
    missing = target - stored_instances(db)
    if missing <= 0:
        return "none", 0, 0.0
    method = options.fill
    if method == "auto":
        method = "start" if missing <= AUTO_START_LIMIT else "clone"
    if method == "start":
        return "Engine.start", missing, start_cases(engine, missing)
    templates = make_templates(engine)  # real cases at each stage of the path
    missing -= len(templates)
    began = time.perf_counter()
    clone_ids = clone_cases(db, templates, missing)
    seconds = time.perf_counter() - began
    verify_clones(engine, clone_ids, len(templates))
    return "clone rows", missing, seconds


def measure_scale(backend: str, options: Options) -> list[ScalePoint]:
    """Time completions on one database per size, taking turns between the sizes each round."""
    with ExitStack() as stack:
        engines, fills, timers = {}, {}, {}
        for size in options.scale_sizes:
            db = stack.enter_context(scratch_database(backend, f"scale{size}", options.database_url))
            engine = ready_engine(db)
            per_case = len(run_cases(engine, WARMUP_CASES).path)
            fills[size] = fill_to(engine, db, size, options)
            timers[size] = StatementTimer()
            timers[size].attach(db)
            if db.dialect.name == "postgresql":  # as autovacuum would have by now on a real server
                with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("ANALYZE"))
            engines[size] = engine, db
        cases = max(1, math.ceil(options.scale_completions / per_case / options.repeat))
        stored = {size: stored_instances(db) for size, (_, db) in engines.items()}
        contenders: dict[str, Contender] = {
            str(size): EngineContender(engine, timers[size].timing) for size, (engine, _) in engines.items()
        }
        rounds = interleaved_rounds(contenders, cases, options.repeat, warmup=1)
    return [
        ScalePoint(
            stored[size],
            *fills[size],
            summarize(rounds[str(size)].timings.completions),
            summarize(rounds[str(size)].timings.completion_cpu),
            summarize(rounds[str(size)].timings.starts),
            timers[size],
        )
        for size in options.scale_sizes
    ]


def print_scale(results: dict[str, list[ScalePoint]], options: Options) -> None:
    """Table 4: completion cost against stored cases, and the ratio largest/smallest."""
    rows: list[Sequence[object]] = []
    for backend, points in results.items():
        for p in points:
            per_case = f"{p.fill_seconds / p.filled * 1000:.1f}" if p.filled else "-"
            rows.append(
                (
                    backend,
                    f"{p.stored:,}",
                    f"{p.fill_method}: {p.filled:,} in {p.fill_seconds:.1f} s",
                    per_case,
                    p.completions.count,
                    ms(p.completions.median),
                    ms(p.completions.p95),
                    ms(p.completion_cpu.median),
                    ms(p.starts.median),
                )
            )
        if len(points) > 1:
            low, high = points[0], points[-1]
            rows.append(
                (
                    backend,
                    f"ratio {high.stored:,}/{low.stored:,}",
                    "",
                    "",
                    "",
                    f"{high.completions.median / low.completions.median:.2f}×",
                    f"{high.completions.p95 / low.completions.p95:.2f}×",
                    f"{high.completion_cpu.median / low.completion_cpu.median:.2f}×",
                    f"{high.starts.median / low.starts.median:.2f}×",
                )
            )
    print_table(
        "Cost of one completion against cases already stored (new cases on top of the stored ones; "
        f"{options.repeat} interleaved rounds per size)",
        [
            "backend",
            "stored cases",
            "fill",
            "fill ms/case",
            "n",
            "complete median ms",
            "complete p95 ms",
            "complete CPU median ms",
            "start median ms",
        ],
        rows,
    )
    for backend, points in results.items():
        if len(points) > 1:
            print_statement_growth(backend, points[0], points[-1])
    for backend, points in results.items():
        started = [p for p in points if p.fill_method == "Engine.start" and p.filled]
        cloned = [p for p in points if p.fill_method == "clone rows"]
        if started and cloned:
            seconds_per_case = started[0].fill_seconds / started[0].filled
            big = cloned[-1]
            print(
                f"{backend}: filling {big.filled:,} cases through Engine.start at {seconds_per_case * 1000:.1f} ms each "
                f"would take about {seconds_per_case * big.filled:.0f} s; cloning them took {big.fill_seconds:.1f} s."
            )


def print_statement_growth(backend: str, low: ScalePoint, high: ScalePoint, top: int = 5) -> None:
    """The SQL statements whose time per call grew most between the smallest and largest size."""
    keys = set(low.statements.samples) | set(high.statements.samples)
    grown = sorted(keys, key=lambda k: high.statements.per_call(k) - low.statements.per_call(k), reverse=True)
    print_table(
        f"SQL statements of Engine.complete whose time per call grew most, {backend} "
        f"({low.stored:,} → {high.stored:,} stored cases; median driver time per call)",
        [
            "statement",
            f"calls at {high.stored:,}",
            f"ms/call at {low.stored:,}",
            f"ms/call at {high.stored:,}",
        ],
        [
            (
                key,
                high.statements.calls(key),
                f"{low.statements.per_call(key) * 1000:.3f}",
                f"{high.statements.per_call(key) * 1000:.3f}",
            )
            for key in grown[:top]
        ],
    )


# --- instance size ----------------------------------------------------------------------------------


def print_rework(results: dict[str, list[ReworkPoint]]) -> None:
    """Completion cost as a case grows through rework loops."""
    rows = []
    for backend, points in results.items():
        base = statistics.median(points[0].completion_cpu)
        for p in points:
            s, cpu = summarize(p.completions), summarize(p.completion_cpu)
            rows.append(
                (
                    backend,
                    p.loops,
                    f"{p.state_bytes:,}",
                    s.count,
                    ms(s.median),
                    ms(s.p95),
                    ms(cpu.median),
                    f"{cpu.median / base:.2f}×",
                )
            )
    print_table(
        "Completion cost against instance size (cases sent back from acceptance to repair N times; "
        "timed: the completions of one more loop, the cases taking turns)",
        [
            "backend",
            "rework loops",
            "state bytes",
            "n",
            "median ms",
            "p95 ms",
            "CPU median ms",
            "CPU vs fewest loops",
        ],
        rows,
    )
    loop = next(iter(results.values()))[0].loop_path
    print(f"one loop: {' → '.join(loop)} (acceptance rejected)")


def measure_rework(backend: str, options: Options) -> list[ReworkPoint]:
    """Run the rework probe on a fresh database of the backend."""
    with scratch_database(backend, "rework", options.database_url) as db:
        engine = ready_engine(db)
        run_cases(engine, WARMUP_CASES)
        return rework_probe(engine, options.rework_loops)


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and print its table."""
    options = parse_args(argv)
    began = time.perf_counter()
    names = backends(options)
    url = options.database_url
    pg_version = postgresql_server_version(url) if url and "postgresql" in names else None
    print(
        "afterflow engine throughput — diagrams/repair_service.bpmn, happy path: remote guidance (not solved)"
    )
    print("→ dispatch (category B) → repair → acceptance (accepted) → follow-up → end")
    print_table("Machine", ["item", "value"], [*machine_rows(pg_version), *diagram_rows()])

    if not options.skip_throughput:
        throughput = measure_throughput(options)
        path = next(iter(throughput.values())).timings.path
        print(f"\npath taken ({len(path)} completions per case): {' → '.join(path)}")
        print_throughput(throughput, options)
        print_sizes_and_starts(throughput)

    if not options.skip_scale and options.scale_sizes:
        print_scale({backend: measure_scale(backend, options) for backend in names}, options)
    if options.rework_loops:
        print_rework({backend: measure_rework(backend, options) for backend in names})
    for backend in names if options.profile else []:
        with scratch_database(backend, "profile", options.database_url) as db:
            profile_completions(ready_engine(db), options.profile, backend)
    print(f"\n(total bench time {time.perf_counter() - began:.0f} s; load average at end {load_average()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
