"""Gunicorn settings for afterflow: ``gunicorn -c python:web.ops.gunicorn_conf web.wsgi:app``.

Each worker is a process of its own; with ``PROMETHEUS_MULTIPROC_DIR`` set they count requests
and commands into shared files that ``/metrics`` sums. The folder is emptied when gunicorn
starts, so a restart does not add up the previous run's counts twice.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("AFTERFLOW_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("AFTERFLOW_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
threads = int(os.environ.get("AFTERFLOW_THREADS", "4"))
timeout = 60
# Access lines come from afterflow's own request log (one structured line per request).
accesslog = None
# Reloads go by signal (systemd's ExecReload sends HUP). The control socket's default path is one
# per user, which several servers on one machine (two web processes, a test run) would share.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Start every run with an empty metrics folder."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live gauges of a worker that ended."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
