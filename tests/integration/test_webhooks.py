"""Webhooks: a local receiver gets each case event once, signed, including those missed while it was down."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.runtime import Engine
from engine.webhooks import WebhookDelivery, deliver_due, subscribe, verify
from engine.webhooks.outbox import WebhookInvalid
from engine.webhooks.signing import HEADER, sign
from tests.conftest import actor
from tests.web.conftest import REPAIR_REQUEST


class Receiver:
    """A call-centre system's endpoint on a fixed port that can be down, then up."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[dict[str, Any], bool]] = []
        self.secret = ""
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify(receiver.secret, self.headers[HEADER], body)
                receiver.received.append((json.loads(body), valid))
                self.send_response(204 if valid else 400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_missed_deliveries_arrive_once_when_the_receiver_is_back(deployed: Engine) -> None:
    receiver = Receiver(_free_port())
    with deployed.writer.begin() as session:
        subscription = subscribe(
            session,
            f"http://127.0.0.1:{receiver.port}/afterflow",
            ["case.started", "task.completed", "case.completed", "case.breached"],
            "admin",
        )
        receiver.secret = subscription.secret
    started = deployed.start("repair_service", REPAIR_REQUEST, actor("cs1", "customer_service"))
    with deployed.sessions() as session:
        from engine.store.models import Task

        task = session.scalar(select(Task).where(Task.instance_id == started.id, Task.state == "open"))
        assert task is not None
    deployed.complete(task.id, {"solved_by_phone": "no"}, actor("cs1", "customer_service"))

    down = deliver_due(deployed.writer, timeout=2)  # nobody listens on the port yet
    assert (down.delivered, down.retrying) == (0, 2)
    assert deliver_due(deployed.writer).retrying == 0  # not due again before the pause
    with deployed.sessions() as session:
        log = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        assert [(d.event_type, d.state, d.attempts) for d in log] == [
            ("case.started", "pending", 1),
            ("task.completed", "pending", 1),
        ]
        assert log[0].last_status is None and log[0].last_error

    receiver.start()
    try:
        clock.freeze(clock.now() + timedelta(minutes=3))
        back = deliver_due(deployed.writer)
        assert (back.delivered, back.retrying) == (2, 0)
        assert deliver_due(deployed.writer).delivered == 0  # each event once
    finally:
        receiver.stop()
    assert [valid for _body, valid in receiver.received] == [True, True]
    bodies = [body for body, _valid in receiver.received]
    assert [b["type"] for b in bodies] == ["case.started", "task.completed"]
    assert bodies[0]["case"]["business_number"] == started.business_number
    assert bodies[1]["task"]["data"]["solved_by_phone"] == "no"
    assert len({b["id"] for b in bodies}) == 2


def test_signature_checks() -> None:
    body = b'{"type":"case.started"}'
    header = sign("whsec_x", 1_700_000_000, body)
    assert verify("whsec_x", header, body, now=1_700_000_010)
    assert not verify("whsec_y", header, body, now=1_700_000_010)  # another secret
    assert not verify("whsec_x", header, body + b" ", now=1_700_000_010)  # another body
    assert not verify("whsec_x", header, body, now=1_700_001_000)  # too old: a replay
    assert not verify("whsec_x", "garbage", body, now=1_700_000_010)


def test_bad_subscriptions_are_refused(deployed: Engine) -> None:
    with deployed.writer.begin() as session:
        for url, events in (("ftp://x", ["case.started"]), ("http://x", []), ("http://x", ["case.exploded"])):
            with pytest.raises(WebhookInvalid):
                subscribe(session, url, events, "admin")
