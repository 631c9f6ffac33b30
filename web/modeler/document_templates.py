"""Process owners edit document templates in the browser: each save is a new version, checked first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.records.templates import (
    MAX_TEMPLATE_CHARS,
    TemplateRefused,
    check_template,
    current_template,
    save_template,
    template_versions,
)
from processes.documents.context import sample_context
from processes.documents.issuing import check_layout, templates_folder
from processes.documents.kinds import KINDS
from processes.documents.pdf import DocumentLayoutError
from web.auth import engine
from web.documents import documents
from web.modeler.owners import owners_only

bp = Blueprint("document_templates", __name__, url_prefix="/modeler/documents")


bp.before_request(owners_only)


def _kind_titles() -> dict[str, str]:
    return {kind.template: kind.title for kind in KINDS.values()}


@bp.get("/")
def library() -> Any:
    """The document templates, with the version in use of each."""
    titles = _kind_titles()
    with engine().writer.begin() as session:
        rows = [
            (name, title, current_template(session, name, templates_folder() / f"{name}.html"))
            for name, title in titles.items()
        ]
    return render_template("modeler/documents.html", rows=rows)


@bp.route("/<name>", methods=["GET", "POST"])
def edit(name: str) -> Any:
    """Show a template in a text editor; saving checks it and keeps it as the next version."""
    titles = _kind_titles()
    if name not in titles:
        abort(404)
    body = None
    if request.method == "POST":
        body = request.form.get("body", "").replace("\r\n", "\n")
        try:
            check_template(body, sample_context())
            check_layout(body, documents().font)
            with engine().writer.begin() as session:
                saved = save_template(
                    session,
                    name,
                    body,
                    current_user.username,
                    request.form.get("summary"),
                    sample=sample_context(),
                )
        except DocumentLayoutError as error:
            flash(_("The PDF layout cannot place this template: %(detail)s", detail=str(error)), "error")
        except TemplateRefused as error:
            if error.reason == "too_long":
                flash(_("A template may have at most %(n)s characters.", n=MAX_TEMPLATE_CHARS), "error")
            elif error.reason == "unsafe":
                flash(
                    _(
                        "The template reaches for something templates may not use: %(detail)s",
                        detail=error.message,
                    ),
                    "error",
                )
            else:
                flash(
                    _(
                        "The template has an error on line %(line)s: %(detail)s",
                        line=error.line or "?",
                        detail=error.message,
                    ),
                    "error",
                )
        else:
            flash(_("Saved as version %(version)s.", version=saved.version), "ok")
            return redirect(url_for("document_templates.edit", name=name))
    with engine().writer.begin() as session:
        current = current_template(session, name, templates_folder() / f"{name}.html")
        versions = template_versions(session, name)
    return render_template(
        "modeler/document_template.html",
        name=name,
        title=titles[name],
        current=current,
        body=current.body if body is None else body,
        versions=versions,
    )
