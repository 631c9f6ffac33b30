"""Several gunicorn worker processes serve one app: /metrics sums their counts and reads the database once."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from engine.models import Task
from engine.runtime import Engine
from tests.conftest import actor
from tests.integration.ops_support import url_of

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
REQUESTS = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_two_worker_processes_are_counted_once_in_multiprocess_mode(deployed: Engine, tmp_path: Path) -> None:
    deployed.start("repair_service", _repair(), actor("cs1", "customer_service"))
    with deployed.sessions() as session:
        open_tasks = session.scalar(select(func.count(Task.id)).where(Task.state == "open"))
    metrics_dir = tmp_path / "metrics"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url_of(deployed.db),
        "AFTERFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "AFTERFLOW_EMBEDDED_RUNNER": "0",
        "SECRET_KEY": "m" * 40,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "AFTERFLOW_BIND": f"127.0.0.1:{port}",
    }
    # Each (synchronous) worker is replaced after 4 requests: the 12 answers come from several processes.
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "-c",
            str(ROOT / "web/ops/gunicorn_conf.py"),
            "-w",
            "2",
            "--max-requests",
            "4",
            "web.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        answered = 0
        while answered < REQUESTS:
            try:
                assert _get(f"{base}/healthz") == '{"status":"ok"}\n'
                answered += 1
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        text = _get(f"{base}/metrics")
    finally:
        server.terminate()
        server.wait(timeout=30)
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} exposed twice"
            samples[key] = sample.value
    health = (
        "afterflow_http_requests_total",
        (("endpoint", "ops_health.healthz"), ("method", "GET"), ("status", "200")),
    )
    assert samples[health] == REQUESTS
    assert (
        samples[("afterflow_open_tasks", (("process", "repair_service"), ("role", "customer_service")))] == 1
    )
    assert sum(v for (name, _), v in samples.items() if name == "afterflow_open_tasks") == open_tasks
    workers = {re.sub(r"\D", "", path.stem.split("_")[-1]) for path in metrics_dir.glob("counter_*.db")}
    assert len(workers) >= 2, workers


def _repair() -> dict[str, str]:
    from tests.integration.test_backup_restore import REPAIR

    return REPAIR
