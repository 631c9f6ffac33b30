"""E-mail over SMTP: plain text with an HTML alternative; subjects in any language (RFC 2047)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from engine.outbox.message import DeliveryFailed, Outgoing


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail."""

    host: str
    port: int = 25
    sender: str = "afterflow@localhost"
    username: str | None = None
    password: str | None = None
    #: "none", "starttls" or "ssl".
    security: str = "none"
    timeout: float = 10.0


def compose(outgoing: Outgoing, address: str, sender: str) -> EmailMessage:
    """The mail of a notification; its Message-ID names the notification, so a receiver can de-duplicate."""
    mail = EmailMessage()
    mail["Subject"] = outgoing.message.subject  # non-ASCII is encoded as =?utf-8?...?= by the policy
    mail["From"] = sender
    mail["To"] = address
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    mail["Message-ID"] = f"<notification-{outgoing.id}@{domain}>"
    mail["X-Afterflow-Notification"] = str(outgoing.id)
    text = outgoing.message.text + (f"\n\n{outgoing.message.link}" if outgoing.message.link else "")
    mail.set_content(text)
    if outgoing.message.html:
        mail.add_alternative(outgoing.message.html, subtype="html")
    return mail


class EmailChannel:
    """Sends each notification as one mail to the recipient's address."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, outgoing: Outgoing) -> None:
        address = outgoing.email
        if not address:
            raise DeliveryFailed("no e-mail address", permanent=True)
        mail = compose(outgoing, address, self.settings.sender)
        s = self.settings
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryFailed(f"recipient refused: {error}", permanent=True)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(str(error)[:500])
