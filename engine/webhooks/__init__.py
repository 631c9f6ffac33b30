"""Outgoing webhooks: subscriptions to case events, a signed outbox with retries, a delivery log."""

from engine.webhooks.models import WebhookDelivery, WebhookSubscription
from engine.webhooks.outbox import EVENT_TYPES, deliver_due, enqueue, subscribe
from engine.webhooks.signing import sign, verify

__all__ = [
    "EVENT_TYPES",
    "WebhookDelivery",
    "WebhookSubscription",
    "deliver_due",
    "enqueue",
    "sign",
    "subscribe",
    "verify",
]
