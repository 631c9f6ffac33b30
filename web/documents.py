"""A case's documents: the list of what was issued (by whom, when, its hash), issuing one, downloading it."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import PermissionDenied
from engine.records.issued_documents import document_by_number
from engine.runtime import Engine
from engine.store.models import ProcessInstance
from engine.store.queries import display_names, may_see_case
from processes.documents.issuing import DocumentRefused, Documents
from processes.documents.pdf import DocumentLayoutError, FontMissing, PdfFont
from web.access import overseers
from web.auth import current_actor, engine

bp = Blueprint("documents", __name__)

#: Where ``make setup`` puts the embedded font (copied from npm with the other front-end assets).
FONT_FOLDER = Path(__file__).resolve().parent / "static" / "vendor" / "fonts"


def pdf_font() -> PdfFont:
    """The font issued PDFs embed: ``AFTERFLOW_PDF_FONTS`` names another folder with the same files."""
    return PdfFont(Path(os.environ.get("AFTERFLOW_PDF_FONTS") or FONT_FOLDER))


def documents_service(engine_: Engine) -> Documents:
    """The document commands over an engine, with the installed font."""
    return Documents(engine_, pdf_font())


def documents() -> Documents:
    """The app's document commands."""
    service: Documents = current_app.extensions["afterflow_documents"]
    return service


@bp.get("/cases/<int:instance_id>/documents")
@login_required
def case_documents(instance_id: int) -> Any:
    """List a case's issued documents and the ones it can have."""
    actor = current_actor()
    issued = documents().issued(instance_id, actor)
    issuable = documents().issuable(instance_id, actor)
    with engine().sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        names = display_names(session, [d.issued_by for d in issued])
    return render_template("documents.html", instance=instance, issued=issued, issuable=issuable, names=names)


@bp.post("/cases/<int:instance_id>/documents")
@login_required
def issue(instance_id: int) -> Any:
    """Issue one document of the case (a new version if it was issued before)."""
    kind = request.form.get("kind", "")
    subject = request.form.get("subject", "")
    try:
        document = documents().issue(instance_id, kind, current_actor(), subject=subject)
    except DocumentRefused as error:
        if error.reason == "not_ready":
            flash(_("The case does not yet hold what this document needs."), "error")
        elif error.reason == "subject":
            flash(_("That customer is not one of this case's customers."), "error")
        else:
            flash(_("This case has no such document."), "error")
        return redirect(url_for("documents.case_documents", instance_id=instance_id))
    except (DocumentLayoutError, FontMissing) as error:
        flash(_("The document could not be printed: %(reason)s", reason=str(error)), "error")
        return redirect(url_for("documents.case_documents", instance_id=instance_id))
    flash(_("%(title)s issued as %(number)s.", title=document.title, number=document.number), "ok")
    return redirect(url_for("documents.case_documents", instance_id=instance_id) + f"#doc-{document.id}")


@bp.get("/documents/<number>")
@login_required
def download(number: str) -> Any:
    """Send an issued document, as issued, to someone who may see its case."""
    with engine().sessions() as session:
        document = document_by_number(session, number)
        if document.instance_id is None or not may_see_case(
            session, document.instance_id, current_actor(), overseers()
        ):
            raise PermissionDenied("you may not see this document")
        content = document.content
    response = send_file(
        BytesIO(content),
        mimetype=document.content_type,
        as_attachment=request.args.get("download") == "1",
        download_name=document.filename,
        etag=document.sha256,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
