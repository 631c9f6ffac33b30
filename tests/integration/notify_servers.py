"""Local stand-ins for what notifications reach: an SMTP server (aiosmtpd) and robots' HTTP endpoints.

Both count what they accepted, by the notification id the message carries. Either can hold a
message before accepting it (``hold``), so a test can kill the sender while one is in flight: a
message whose sender vanished before the answer is not counted as accepted, as an MTA does not
take responsibility for a message it never acknowledged.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Gate:
    """Lets messages through at once, or holds one (the one arriving after ``hold_after`` were accepted)."""

    def __init__(self) -> None:
        self.hold_after: int | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    def holds(self, accepted: int) -> bool:
        """Whether the message arriving now is the one to hold."""
        return self.hold_after is not None and accepted >= self.hold_after and not self.arrived.is_set()

    def wait(self) -> None:
        self.arrived.set()
        self.release.wait(30)


class SmtpSink:
    """An SMTP server on 127.0.0.1 keeping every mail it accepted."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.gate = _Gate()
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import asyncio

                if sink.gate.holds(len(sink.mails)):
                    # The handler is cancelled here when the sender disappears (end of file).
                    await asyncio.get_running_loop().run_in_executor(None, sink.gate.wait)
                    await asyncio.sleep(0.2)
                    if server.transport is None or server.transport.is_closing():
                        return "421 sender gone"
                mail = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(mail, EmailMessage)
                sink.mails.append(mail)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self.gate.release.set()
        self.controller.stop()

    def ids(self) -> Counter[str]:
        return Counter(str(m["X-Afterflow-Notification"]) for m in self.mails)


class RobotSink:
    """An HTTP server answering like a group robot (``{"errcode": 0}``), keeping every request."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = answer if answer is not None else {"errcode": 0, "errmsg": "ok"}
        self.gate = _Gate()
        self.port = free_port()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.gate.holds(len(sink.requests)):
                    sink.gate.wait()
                    time.sleep(0.2)
                    if _peer_gone(self.connection):
                        self.close_connection = True
                        return
                parts = urlsplit(self.path)
                sink.requests.append(
                    {
                        "path": parts.path,
                        "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                        "headers": dict(self.headers),
                        "json": json.loads(body),
                    }
                )
                reply = json.dumps(sink.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def url(self, path: str = "/robot") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RobotSink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *args: Any) -> None:
        self.gate.release.set()
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> Counter[str]:
        return Counter(str(r["headers"].get("X-Afterflow-Notification")) for r in self.requests)


def _peer_gone(connection: socket.socket) -> bool:
    """Whether the client closed its end (a killed process's socket reads as end of file)."""
    connection.setblocking(False)
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.setblocking(True)
