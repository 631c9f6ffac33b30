"""Administrators subscribe URLs to case events and read each subscription's delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.webhooks import EVENT_TYPES, WebhookSubscription, subscribe
from engine.webhooks.outbox import WebhookInvalid, deliveries_of
from web.auth import engine

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


@bp.before_request
@login_required
def admins_only() -> Any:
    """Only administrators manage webhooks."""
    if "admin" not in current_user.roles:
        abort(403)
    return None


def _subscriptions() -> list[WebhookSubscription]:
    with engine().sessions() as session:
        return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


@bp.get("")
def index() -> Any:
    """List the subscriptions with a form to add one."""
    return render_template(
        "webhooks.html", subscriptions=_subscriptions(), event_types=EVENT_TYPES, secret=None
    )


@bp.post("")
def create() -> Any:
    """Subscribe a URL; its signing secret is shown once."""
    try:
        with engine().writer.begin() as session:
            subscription = subscribe(
                session, request.form.get("url", ""), request.form.getlist("events"), current_user.username
            )
            secret = subscription.secret
    except WebhookInvalid:
        flash(_("Give an http:// or https:// URL and at least one event."), "error")
        return render_template(
            "webhooks.html", subscriptions=_subscriptions(), event_types=EVENT_TYPES, secret=None
        ), 422
    flash(_("Subscribed. Copy the signing secret now: it is not shown again."), "ok")
    return render_template(
        "webhooks.html", subscriptions=_subscriptions(), event_types=EVENT_TYPES, secret=secret
    )


@bp.get("/<int:subscription_id>")
def deliveries(subscription_id: int) -> Any:
    """Show a subscription's delivery log, newest first."""
    with engine().sessions() as session:
        subscription = session.get(WebhookSubscription, subscription_id)
        if subscription is None:
            abort(404)
        log = deliveries_of(session, subscription_id)
    return render_template("webhook_deliveries.html", subscription=subscription, deliveries=log)


@bp.post("/<int:subscription_id>/deactivate")
def deactivate(subscription_id: int) -> Any:
    """Stop sending to a subscription (its log is kept)."""
    with engine().writer.begin() as session:
        subscription = session.get(WebhookSubscription, subscription_id)
        if subscription is None:
            abort(404)
        subscription.active = False
    flash(_("The subscription receives nothing more."), "ok")
    return redirect(url_for("webhooks.index"))
