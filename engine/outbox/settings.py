"""The channels a deployment configured, from ``AFTERFLOW_SMTP_*`` and the robots' webhook settings."""

from __future__ import annotations

import os
from collections.abc import Mapping

from engine.outbox.gateway import SmsGatewayChannel
from engine.outbox.mail import EmailChannel, SmtpSettings
from engine.outbox.message import Channel
from engine.outbox.robots import RobotChannel


def smtp_from_environ(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """SMTP settings, or None when ``AFTERFLOW_SMTP_HOST`` is not set."""
    env = os.environ if environ is None else environ
    host = env.get("AFTERFLOW_SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("AFTERFLOW_SMTP_SECURITY", "none").strip().lower() or "none"
    if security not in ("none", "starttls", "ssl"):
        raise ValueError("AFTERFLOW_SMTP_SECURITY must be none, starttls or ssl")
    port = env.get("AFTERFLOW_SMTP_PORT", "").strip() or ("465" if security == "ssl" else "25")
    if not port.isdigit():
        raise ValueError(f"AFTERFLOW_SMTP_PORT must be a port number, not {port!r}")
    return SmtpSettings(
        host=host,
        port=int(port),
        sender=env.get("AFTERFLOW_MAIL_FROM", "").strip() or "afterflow@localhost",
        username=env.get("AFTERFLOW_SMTP_USERNAME") or None,
        password=env.get("AFTERFLOW_SMTP_PASSWORD") or None,
        security=security,
    )


def channels_from_environ(environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every channel whose settings are present, by name (in-app needs none: it is never sent)."""
    env = os.environ if environ is None else environ
    channels: dict[str, Channel] = {}
    smtp = smtp_from_environ(env)
    if smtp is not None:
        channels["email"] = channels["customer_email"] = EmailChannel(smtp)
    for kind in ("wecom", "dingtalk", "feishu"):
        url = env.get(f"AFTERFLOW_{kind.upper()}_WEBHOOK", "").strip()
        if url:
            channels[kind] = RobotChannel(kind, url, env.get(f"AFTERFLOW_{kind.upper()}_SECRET") or None)
    gateway = env.get("AFTERFLOW_SMS_GATEWAY_URL", "").strip()
    if gateway:
        channels["customer_sms"] = SmsGatewayChannel(gateway, env.get("AFTERFLOW_SMS_GATEWAY_SECRET", ""))
    return channels
