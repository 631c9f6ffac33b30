"""An SMS gateway reached by a signed JSON webhook: ``{"id", "to", "text"}``, signed as our webhooks are."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from engine.outbox.message import DeliveryFailed, Outgoing
from engine.webhooks.signing import HEADER, sign


class SmsGatewayChannel:
    """Posts the text of a notification for the recipient's phone number to a gateway."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, outgoing: Outgoing) -> None:
        number = outgoing.mobile or outgoing.recipient
        message = outgoing.message
        text = message.text + (f" {message.link}" if message.link else "")
        body = json.dumps(
            {"id": f"notification-{outgoing.id}", "to": number, "text": text}, ensure_ascii=False
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "afterflow-notifications/1",
                HEADER: sign(self.secret, int(time.time()), body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                return
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(
                f"HTTP {error.code}", permanent=400 <= error.code < 500 and error.code != 429
            )
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailed(str(getattr(error, "reason", error))[:500])
