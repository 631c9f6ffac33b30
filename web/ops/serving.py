"""How ``afterflow run`` starts gunicorn: the command line and the environment of its processes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from web.ops import gunicorn_conf


def default_workers() -> int:
    """One process per core plus one (a process waits on the database part of the time)."""
    return (os.cpu_count() or 1) + 1


def server_environment(
    environ: Mapping[str, str], instance_dir: Path, host: str, port: int, workers: int | None
) -> dict[str, str]:
    """The environment of the gunicorn processes: where to listen, how many, where metrics meet."""
    env = dict(environ)
    env["AFTERFLOW_BIND"] = f"{host}:{port}"
    env["AFTERFLOW_WORKERS"] = str(workers or int(environ.get("AFTERFLOW_WORKERS") or default_workers()))
    # The processes' counters are summed through files; each run starts with an empty folder.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(instance_dir / "metrics"))
    return env


def gunicorn_command(gunicorn: str) -> list[str]:
    """gunicorn with afterflow's settings (``web/ops/gunicorn_conf.py``) serving ``web.wsgi:app``."""
    return [gunicorn, "-c", str(Path(gunicorn_conf.__file__)), "web.wsgi:app"]
