"""The group robots Chinese companies use: WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书).

Each receives a JSON message at its incoming-webhook URL in its documented format:

* WeCom: ``{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}``; no signing (the
  key is part of the URL).
* DingTalk: ``{"msgtype": "text", "text": {"content"}, "at": {"atMobiles", "isAtAll"}}``; with a
  secret, the URL carries ``timestamp`` (milliseconds) and ``sign`` = Base64(HMAC-SHA256(key=secret,
  msg="{timestamp}\\n{secret}")), URL-encoded.
* Feishu: ``{"timestamp", "sign", "msg_type": "text", "content": {"text"}}``; with a secret, ``sign``
  = Base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b"")), the timestamp in seconds.

A robot answers HTTP 200 with an error code in the body; anything but code 0 is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from engine.outbox.message import DeliveryFailed, Outgoing


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a request sent at ``timestamp_ms`` (Base64, not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's signature of a request sent at ``timestamp`` (seconds)."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _content(outgoing: Outgoing) -> str:
    message = outgoing.message
    parts = [message.subject, message.text]
    if message.link:
        parts.append(message.link)
    return "\n".join(p for p in parts if p)


def wecom_payload(outgoing: Outgoing) -> dict[str, Any]:
    """A WeCom robot's text message, @-mentioning the recipient by mobile number."""
    text: dict[str, Any] = {"content": _content(outgoing)}
    if outgoing.mobile:
        text["mentioned_mobile_list"] = [outgoing.mobile]
    return {"msgtype": "text", "text": text}


def dingtalk_payload(outgoing: Outgoing) -> dict[str, Any]:
    """A DingTalk robot's text message; the mention must also appear in the text to show."""
    content = _content(outgoing)
    mobiles = [outgoing.mobile] if outgoing.mobile else []
    if mobiles:
        content += f"\n@{outgoing.mobile}"
    return {"msgtype": "text", "text": {"content": content}, "at": {"atMobiles": mobiles, "isAtAll": False}}


def feishu_payload(outgoing: Outgoing) -> dict[str, Any]:
    """A Feishu robot's text message."""
    return {"msg_type": "text", "content": {"text": _content(outgoing)}}


class RobotChannel:
    """Posts to one group robot's incoming webhook."""

    def __init__(
        self,
        kind: str,
        url: str,
        secret: str | None = None,
        timeout: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if kind not in ("wecom", "dingtalk", "feishu"):
            raise ValueError(f"unknown robot {kind!r}")
        self.kind, self.url, self.secret, self.timeout, self.now = kind, url, secret, timeout, now

    def request(self, outgoing: Outgoing) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body of the robot's request for ``outgoing``."""
        url = self.url
        if self.kind == "wecom":
            return url, wecom_payload(outgoing)
        if self.kind == "dingtalk":
            body = dingtalk_payload(outgoing)
            if self.secret:
                stamp = int(self.now() * 1000)
                sign = urllib.parse.quote_plus(dingtalk_sign(self.secret, stamp))
                url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={sign}"
            return url, body
        body = feishu_payload(outgoing)
        if self.secret:
            stamp = int(self.now())
            body = {"timestamp": str(stamp), "sign": feishu_sign(self.secret, stamp), **body}
        return url, body

    def send(self, outgoing: Outgoing) -> None:
        url, body = self.request(outgoing)
        request = urllib.request.Request(
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "afterflow-notifications/1",
                "X-Afterflow-Notification": str(outgoing.id),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(65536)
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(
                f"HTTP {error.code}", permanent=400 <= error.code < 500 and error.code != 429
            )
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailed(str(getattr(error, "reason", error))[:500])
        try:
            reply = json.loads(answer or b"{}")
        except ValueError:
            reply = {}
        code = (
            reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
            if isinstance(reply, dict)
            else 0
        )
        if code not in (0, None):
            message = reply.get("errmsg") or reply.get("msg") or ""
            raise DeliveryFailed(f"{self.kind} answered {code}: {message}"[:500])
