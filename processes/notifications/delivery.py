"""The delivery worker of our notifications: the configured channels, our wording, links to our pages."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from engine.outbox.collect import scan_due_soon
from engine.outbox.delivery import LEASE, Deliverer
from engine.outbox.message import Channel
from engine.outbox.settings import channels_from_environ
from engine.runtime import Engine
from processes.notifications import outbox_config
from processes.notifications.wording import make_renderer


def link_maker(base_url: str) -> Any:
    """Links to the task page, or to the case's page for managers, under ``base_url``."""
    base = base_url.rstrip("/")

    def link_for(params: dict[str, Any]) -> str | None:
        if not base:
            return None
        if params.get("task_id"):
            return f"{base}/tasks/{params['task_id']}"
        if params.get("instance_id"):
            return f"{base}/manage/cases/{params['instance_id']}"
        return None

    return link_for


def make_deliverer(
    engine: Engine, channels: Mapping[str, Channel] | None = None, base_url: str | None = None
) -> Deliverer:
    """A worker sending our notifications (channels and ``AFTERFLOW_BASE_URL`` from the environment)."""
    base = base_url if base_url is not None else os.environ.get("AFTERFLOW_BASE_URL", "")
    lease = os.environ.get("AFTERFLOW_NOTIFICATION_LEASE_SECONDS", "").strip()
    return Deliverer(
        engine.writer,
        channels if channels is not None else channels_from_environ(),
        make_renderer(link_maker(base), engine.config.calendar.timezone),
        # How long a claimed batch is left to its worker before another may send it.
        lease=timedelta(seconds=int(lease)) if lease.isdigit() and int(lease) > 0 else LEASE,
    )


def background_work(engine: Engine) -> list[Callable[[], object]]:
    """What a runner does for notifications every round: notice tasks due soon, send what is due."""
    deliverer = make_deliverer(engine)
    config = outbox_config(engine.config.calendar)
    return [lambda: scan_due_soon(engine.writer, config), deliverer.drain]
