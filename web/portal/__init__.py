"""The customers' self-service page ``/portal``: no staff login.

A customer submits a repair request, gets the case number and a private status link, follows
the case in plain words and, when the work is done, fills the satisfaction card. Every page is
rate-limited per client address; a submission also answers a small signed sum. Status pages are
never cached or indexed, and show nothing internal (no step names, people, notes or case data).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from engine import clock
from engine.errors import FormInvalid
from engine.store.models import ProcessInstance
from processes.notifications.customers import contact_in, notify_customer
from processes.portal.intake import (
    KINDS,
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    Photo,
    PhotoRefused,
    customer_form,
    find_request,
    submit,
)
from processes.portal.models import PortalRequest
from processes.portal.progress import progress_of
from processes.portal.satisfaction import RatingClosed, card_form, rate
from web.auth import engine
from web.form_view import form_context, submitted_data
from web.i18n import current_lang
from web.messages import translate_errors
from web.portal.challenge import is_answered, new_challenge
from web.portal.limits import SUBMIT, VIEW, PortalLimiter, policies
from web.portal.links import status_url

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")

#: Form fields of the page itself, not of the request.
OWN_FIELDS = ("challenge_token", "challenge_answer", "photos")


@bp.record_once
def _install_limiter(state: BlueprintSetupState) -> None:
    app = state.app
    store = app.extensions["afterflow_login_guard"].store
    app.extensions["afterflow_portal_limiter"] = PortalLimiter(
        store,
        policies(
            _setting(app.config, "AFTERFLOW_PORTAL_SUBMITS_PER_HOUR", 10),
            _setting(app.config, "AFTERFLOW_PORTAL_VIEWS_PER_HOUR", 300),
        ),
    )


def _setting(config: Mapping[str, Any], name: str, default: int) -> int:
    """A limit from the app's configuration, else the environment, else ``default``."""
    value = config.get(name, os.environ.get(name))
    try:
        return max(1, int(value)) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


@bp.after_request
def _private(response: Any) -> Any:
    # Status links are secrets: never kept by a shared cache, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _over_limit(scope: str) -> Any | None:
    """Count this request; return the 429 answer when the address is over the scope's limit."""
    limiter: PortalLimiter = current_app.extensions["afterflow_portal_limiter"]
    until = limiter.refused_until(scope, request.remote_addr or "unknown")
    if until is None:
        return None
    minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
    response = current_app.make_response((render_template("portal/busy.html", minutes=minutes), 429))
    response.headers["Retry-After"] = str(minutes * 60)
    return response


@bp.get("/")
def index() -> Any:
    """Show what a customer can do here."""
    refused = _over_limit(VIEW)
    if refused is not None:
        return refused
    return render_template("portal/index.html")


@bp.route("/request/<kind>", methods=["GET", "POST"])
def new_request(kind: str) -> Any:
    """Show the request form; check and submit a request."""
    request_kind = KINDS.get(kind)
    if request_kind is None:
        abort(404)
    refused = _over_limit(SUBMIT if request.method == "POST" else VIEW)
    if refused is not None:
        return refused
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    if request.method == "POST":
        values = {k: v for k, v in submitted_data(request.form).items() if k not in OWN_FIELDS}
        photos = _photos(request.files.getlist("photos"))
        secret = str(current_app.config["SECRET_KEY"])
        if not is_answered(
            secret, request.form.get("challenge_token", ""), request.form.get("challenge_answer", "")
        ):
            problems.append(_("The answer to the question is wrong. Please try the new question."))
        else:
            try:
                submitted = submit(
                    engine(), request_kind, values, photos, secret, alongside=_tell_received(values)
                )
            except FormInvalid as error:
                errors = translate_errors(error.errors, current_lang())
                problems.append(_("Some fields need your attention; they are marked below."))
            except PhotoRefused as error:
                problems.append(_photo_problem(error))
            else:
                link = url_for("portal.status", token=submitted.token, _external=True)
                return render_template("portal/submitted.html", number=submitted.business_number, link=link)
    form = form_context(customer_form(engine(), request_kind), values, errors, current_lang(), engine())
    page = render_template(
        "portal/request.html",
        kind=kind,
        form=form,
        problems=problems,
        challenge=new_challenge(str(current_app.config["SECRET_KEY"])),
        max_photos=MAX_PHOTOS,
        max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024),
    )
    return page, (422 if problems else 200)


@bp.get("/status/<token>")
def status(token: str) -> Any:
    """Show a request's progress to whoever holds its private link."""
    refused = _over_limit(VIEW)
    if refused is not None:
        return refused
    found = _request_or_404(token)
    return _status_page(found, token)


@bp.post("/status/<token>/rating")
def rating(token: str) -> Any:
    """Hand in the satisfaction card."""
    refused = _over_limit(VIEW)
    if refused is not None:
        return refused
    found = _request_or_404(token)
    values = {k: v for k, v in submitted_data(request.form).items()}
    try:
        rate(engine(), found, values)
    except FormInvalid as error:
        errors = translate_errors(error.errors, current_lang())
        return _status_page(found, token, values, errors, 422)
    except RatingClosed:
        return _status_page(found, token, status_code=409)
    return _status_page(_request_or_404(token), token, thanks=True)


def _tell_received(values: dict[str, Any]) -> Callable[[Session, ProcessInstance, str], None]:
    """Queue the customer's "received" notice with the status link, in the case's own transaction."""
    contact = contact_in(values, current_lang())

    def tell(session: Session, case: ProcessInstance, token: str) -> None:
        link = status_url(token)
        notify_customer(session, case, "received", lambda _case: link, contact)

    return tell


def _request_or_404(token: str) -> PortalRequest:
    found = find_request(engine(), token)
    if found is None:
        abort(404)
    return found


def _status_page(
    found: PortalRequest,
    token: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
    thanks: bool = False,
) -> Any:
    progress = progress_of(engine(), found)
    card = None
    if progress.rating_open:
        card = form_context(card_form(engine(), found), values or {}, errors or {}, current_lang(), engine())
    page = render_template(
        "portal/status.html",
        progress=progress,
        card=card,
        token=token,
        thanks=thanks,
        refused_rating=status_code == 409,
    )
    return page, status_code


def _photos(files: list[FileStorage]) -> list[Photo]:
    """The uploaded photos (an empty file input sends one nameless part, which is no photo)."""
    return [Photo(f.filename or "", f.read()) for f in files if f.filename]


def _photo_problem(error: PhotoRefused) -> str:
    if error.reason == "too_many":
        return _("Please attach at most %(count)s photos.", count=MAX_PHOTOS)
    if error.reason == "too_large":
        return _(
            "The photo %(name)s is larger than %(mb)s MB.",
            name=error.filename,
            mb=MAX_PHOTO_BYTES // (1024 * 1024),
        )
    return _("The file %(name)s is not a JPEG or PNG photo.", name=error.filename)
