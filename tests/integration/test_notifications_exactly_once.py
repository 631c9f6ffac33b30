"""A delivery worker killed (SIGKILL) mid-batch, then restarted: every notification arrives exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from engine import clock
from engine.accounts.users import create_user
from engine.outbox.models import Notification
from engine.outbox.preferences import save_preference
from engine.runtime import Engine
from processes.roles import ROLE_KEYS
from tests.integration.notify_servers import RobotSink, SmtpSink

MAILS, ROBOT_POSTS = 24, 12


def _queue(engine: Engine) -> None:
    now = clock.now()
    with engine.writer.begin() as session:
        for name in ("tech1", "tech2"):
            save_preference(
                session, name, ["task_assigned"], ["email", "dingtalk"], email=f"{name}@example.cn"
            )
        for i in range(MAILS):
            medium = "dingtalk" if i % 2 else "email"
            session.add(
                Notification(
                    event_key=f"event:{1000 + i}",
                    kind="task_assigned",
                    recipient="tech1" if i < MAILS // 2 else "tech2",
                    medium=medium,
                    instance_id=None,
                    params={"business_number": f"RO-20261207-{i:04d}", "task": "到达现场"},
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def _worker(db_url: str, smtp: SmtpSink, robot: RobotSink, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "AFTERFLOW_INSTANCE_DIR": str(folder),
        "AFTERFLOW_SMTP_HOST": "127.0.0.1",
        "AFTERFLOW_SMTP_PORT": str(smtp.port),
        "AFTERFLOW_DINGTALK_WEBHOOK": robot.url("/robot/send?access_token=k"),
        "AFTERFLOW_DINGTALK_SECRET": "SEC-kill",
        "AFTERFLOW_NOTIFICATION_LEASE_SECONDS": "3",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "web.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(
    engine: Engine, db: SqlEngine, tmp_path: Path
) -> None:
    with engine.writer.begin() as session:
        for name in ("tech1", "tech2"):
            create_user(session, name, "Technician-2026!", ["technician"], ROLE_KEYS)
    _queue(engine)
    url = db.url.render_as_string(hide_password=False)
    with SmtpSink() as smtp, RobotSink() as robot:
        smtp.gate.hold_after = 5  # the sixth mail is held in flight ...
        first = _worker(url, smtp, robot, tmp_path)
        try:
            assert smtp.gate.arrived.wait(60), "the worker never sent"
            first.send_signal(signal.SIGKILL)  # ... while the worker is killed
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        smtp.gate.release.set()
        with engine.sessions() as session:
            sent = session.scalar(select(func.count()).where(Notification.state == "delivered"))
        assert sent is not None and 5 <= sent < MAILS  # killed mid-batch
        second = _worker(url, smtp, robot, tmp_path)
        try:
            assert _until(lambda: len(smtp.mails) + len(robot.requests) >= MAILS, 60)
            time.sleep(1.0)  # anything sent twice would arrive now
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(10)
    assert len(smtp.mails) == MAILS - ROBOT_POSTS and len(robot.requests) == ROBOT_POSTS
    assert set(smtp.ids().values()) == {1} and set(robot.ids().values()) == {1}
    with engine.sessions() as session:
        states = dict(
            session.execute(select(Notification.state, func.count()).group_by(Notification.state)).all()
        )
    assert states == {"delivered": MAILS}


def test_two_workers_at_once_send_each_notification_once(engine: Engine) -> None:
    import threading

    from engine.outbox.delivery import Deliverer
    from engine.outbox.robots import RobotChannel
    from processes.notifications.wording import make_renderer

    with engine.writer.begin() as session:
        for name in ("tech1", "tech2"):
            create_user(session, name, "Technician-2026!", ["technician"], ROLE_KEYS)
    _queue(engine)
    with RobotSink() as robot, SmtpSink() as smtp:
        from engine.outbox.mail import EmailChannel, SmtpSettings

        channels = {
            "dingtalk": RobotChannel("dingtalk", robot.url("/robot/send?access_token=k"), "SEC-two"),
            "email": EmailChannel(SmtpSettings("127.0.0.1", smtp.port)),
        }
        workers = [
            Deliverer(engine.writer, channels, make_renderer(), name=f"worker-{i}", batch=4) for i in (1, 2)
        ]
        threads = [threading.Thread(target=w.drain, kwargs={"rounds": 50}) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(robot.requests) == ROBOT_POSTS and len(smtp.mails) == MAILS - ROBOT_POSTS
    assert set(robot.ids().values()) == {1} and set(smtp.ids().values()) == {1}
    with engine.sessions() as session:
        assert session.scalar(select(func.count()).where(Notification.state != "delivered")) == 0
