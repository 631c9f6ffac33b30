"""What operators run the app with: health endpoints, metrics, request logs, leases, ops commands."""

from __future__ import annotations

import atexit

from flask import Flask

from engine.operations.nodes import WEB, Heartbeat
from engine.operations.schema_status import code_heads
from engine.runtime import Engine
from web.settings import Settings


def init_app(app: Flask, engine: Engine, settings: Settings) -> None:
    """Register the health and metrics endpoints and the request log; take this process's lease."""
    from web.ops import health, metrics, request_log

    app.config.setdefault("AFTERFLOW_METRICS_TOKEN", settings.metrics_token)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    request_log.init_app(app)
    metrics.init_app(app)
    if not app.config.get("TESTING"):
        heartbeat = Heartbeat(engine.db, WEB, ",".join(code_heads()))
        heartbeat.start()
        atexit.register(heartbeat.stop)
        app.extensions["afterflow_heartbeat"] = heartbeat
