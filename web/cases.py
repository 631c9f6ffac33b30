"""Start a case from the processes the user's roles may start."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import FormInvalid
from processes.records.pickers import CUSTOMER_PICKER_FIELDS, PRODUCT_PICKER_FIELDS
from web.auth import current_actor, engine
from web.form_view import form_context, submitted_data
from web.i18n import current_lang
from web.messages import translate_errors
from web.records.blueprint import may_edit_archive, may_read_archive

bp = Blueprint("cases", __name__)


@bp.get("/start")
@login_required
def start_list() -> Any:
    """List the processes the user may start."""
    return render_template("start_list.html", definitions=engine().startable_definitions(current_actor()))


@bp.route("/start/<process_key>", methods=["GET", "POST"])
@login_required
def start(process_key: str) -> Any:
    """Show a process's start form and start a case."""
    actor = current_actor()
    definitions = {d.process_key: d for d in engine().startable_definitions(actor)}
    definition = definitions.get(process_key)
    if definition is None:
        with engine().sessions() as db:
            engine().latest_definition(db, process_key)  # an unknown process answers 404
        abort(403)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        values = submitted_data(request.form)
        try:
            started = engine().start(process_key, values, actor)
            if started.status == "error":
                # The case and its start are recorded; managers see the element and why.
                flash(
                    _(
                        "Case %(number)s was started but stopped in error; a manager can see why on the case.",
                        number=started.business_number,
                    ),
                    "error",
                )
            else:
                flash(_("Case %(number)s started.", number=started.business_number), "ok")
            return redirect(url_for("inbox.index"))
        except FormInvalid as error:
            errors, status = translate_errors(error.errors, current_lang()), 422
            flash(_("The form has errors; check the marked fields."), "error")
    start_form = definition.meta["process"].get("start_form")
    form = None
    if start_form:
        form = form_context(
            engine().form_of(definition, start_form), values, errors, current_lang(), engine()
        )
    return render_template("start.html", definition=definition, form=form, pickers=pickers(form)), status


def pickers(form: Any) -> dict[str, Any] | None:
    """Which fields of a start form look customers and products up in the archive (None: none)."""
    if form is None or not may_read_archive():
        return None
    keys = {view.field.key for view in form.fields if view.field.key}
    customer = [key for key in CUSTOMER_PICKER_FIELDS if key in keys]
    product = [key for key in PRODUCT_PICKER_FIELDS if key in keys]
    if not customer and not product:
        return None
    return {"customer": customer, "product": product, "may_add": may_edit_archive()}
