"""``/metrics`` in the Prometheus text format.

Counters and histograms (requests, engine commands) live in each process; when several worker
processes serve (gunicorn), ``PROMETHEUS_MULTIPROC_DIR`` makes them write to shared files that
every scrape sums. The case and job figures are read from the database at scrape time, once
per scrape, so two workers never count the same open task twice.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.operations import command_log
from engine.operations.command_log import CommandRecord
from engine.operations.health import cases_in_error, due_jobs, overdue_jobs
from engine.operations.nodes import RUNNER, live_nodes
from engine.outbox.inbox import outbox_counts
from engine.runtime import Engine
from engine.store.models import OPEN_TASK, ProcessInstance, SlaBreach, Task
from engine.webhooks.models import WebhookDelivery

bp = Blueprint("ops_metrics", __name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "afterflow_http_requests", "HTTP requests answered", ["endpoint", "method", "status"], registry=None
)
REQUEST_SECONDS = Histogram(
    "afterflow_http_request_duration_seconds", "Time to answer an HTTP request", ["endpoint"], registry=None
)
COMMANDS = Counter("afterflow_commands", "Engine commands run", ["command", "result"], registry=None)
COMMAND_SECONDS = Histogram(
    "afterflow_command_duration_seconds", "Time an engine command took", ["command"], registry=None
)
PROCESS_METRICS = (REQUESTS, REQUEST_SECONDS, COMMANDS, COMMAND_SECONDS)


def init_app(app: Flask) -> None:
    """Count every request and every engine command of this process."""
    app.after_request(_count_request)
    command_log.add_listener(count_command)


def count_command(record: CommandRecord) -> None:
    """Count one finished engine command."""
    COMMANDS.labels(record.command, record.result).inc()
    COMMAND_SECONDS.labels(record.command).observe(record.duration)


def _count_request(response: Any) -> Any:
    from web.ops.request_log import request_seconds

    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    REQUEST_SECONDS.labels(endpoint).observe(request_seconds())
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Expose the process and database metrics (behind a bearer token when one is configured)."""
    token = current_app.config.get("AFTERFLOW_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), str(token).encode()):
            abort(401)
    engine: Engine = current_app.extensions["afterflow"]
    return Response(generate_latest(scrape_registry(engine)), mimetype=CONTENT_TYPE_LATEST)


def scrape_registry(engine: Engine) -> CollectorRegistry:
    """A registry for one scrape: every process's counters, and the database figures once."""
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    registry.register(DatabaseCollector(engine))
    return registry


class DatabaseCollector(Collector):
    """Case, task and job figures, read from the projections at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the gauges (nothing when the database cannot be read: ``/readyz`` says why)."""
        try:
            with self.engine.sessions() as session:
                metrics = list(self._read(session))
        except Exception:  # a scrape must answer while the database is down
            return
        yield from metrics

    def _read(self, session: Session) -> Iterator[Metric]:
        tasks = GaugeMetricFamily("afterflow_open_tasks", "Open human tasks", labels=["process", "role"])
        for process, role, count in session.execute(
            select(ProcessInstance.process_key, Task.role, func.count(Task.id))
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(OPEN_TASK)
            .group_by(ProcessInstance.process_key, Task.role)
        ):
            tasks.add_metric([process, role or ""], count)
        yield tasks
        cases = GaugeMetricFamily("afterflow_cases", "Cases by status", labels=["process", "status"])
        for process, status, count in session.execute(
            select(
                ProcessInstance.process_key, ProcessInstance.status, func.count(ProcessInstance.id)
            ).group_by(ProcessInstance.process_key, ProcessInstance.status)
        ):
            cases.add_metric([process, status], count)
        yield cases
        yield GaugeMetricFamily(
            "afterflow_cases_in_error", "Cases stopped in error", value=cases_in_error(session)
        )
        yield GaugeMetricFamily(
            "afterflow_jobs_due", "Timers and jobs whose time has come", value=due_jobs(session)
        )
        yield GaugeMetricFamily(
            "afterflow_jobs_overdue",
            "Timers and jobs due more than a minute ago",
            value=overdue_jobs(session),
        )
        breaches = CounterMetricFamily(
            "afterflow_sla_breaches", "Service-level limits missed", labels=["sla"]
        )
        for sla, count in session.execute(
            select(SlaBreach.sla, func.count(SlaBreach.id)).group_by(SlaBreach.sla)
        ):
            breaches.add_metric([sla], count)
        yield breaches
        notifications = outbox_counts(session)
        yield GaugeMetricFamily(
            "afterflow_notifications_pending",
            "Notifications waiting to be sent (quiet hours and retries included)",
            value=notifications["pending"],
        )
        yield GaugeMetricFamily(
            "afterflow_notifications_failed",
            "Notifications given up on after their retries",
            value=notifications["failed"],
        )
        webhooks = dict(
            session.execute(
                select(WebhookDelivery.state, func.count(WebhookDelivery.id))
                .where(WebhookDelivery.state.in_(("pending", "failed")))
                .group_by(WebhookDelivery.state)
            ).all()
        )
        yield GaugeMetricFamily(
            "afterflow_webhooks_pending",
            "Webhook deliveries waiting to be sent or retried",
            value=webhooks.get("pending", 0),
        )
        yield GaugeMetricFamily(
            "afterflow_webhooks_failed",
            "Webhook deliveries given up on after their retries",
            value=webhooks.get("failed", 0),
        )
        yield GaugeMetricFamily(
            "afterflow_runners_alive",
            "Timer runners seen within their lease",
            value=len(live_nodes(session, RUNNER)),
        )
