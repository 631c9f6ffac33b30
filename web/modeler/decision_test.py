"""The decision-table test panel's API: the editor's unsaved table, typed inputs → matched rules → outputs.

For process owners only, like the rest of the modeler. Nothing is saved or deployed: the table is
the text the editor sends, evaluated by the runtime's own decision engine (``try_decision``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from engine.runtime.decision_trial import MAX_INPUTS, try_decision
from web.auth import engine
from web.modeler import _FILE_NAME
from web.modeler.owners import owners_only

bp = Blueprint("modeler_decisions", __name__, url_prefix="/modeler/api")

#: A decision table sent for a test is at most this long (the deploy's file limit is larger).
MAX_TABLE_CHARS = 2_000_000


bp.before_request(owners_only)


@bp.post("/decision-test")
def decision_test() -> Any:
    """Evaluate the posted DMN text for the posted inputs ({input column id: typed text})."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    name, text, inputs = body.get("file"), body.get("text"), body.get("inputs") or {}
    if not isinstance(name, str) or not _FILE_NAME.match(name) or not name.endswith(".dmn"):
        abort(400)
    if not isinstance(text, str) or len(text) > MAX_TABLE_CHARS:
        abort(400)
    if not isinstance(inputs, dict) or len(inputs) > MAX_INPUTS:
        abort(400)
    values = {str(k): str(v) if v is not None else "" for k, v in inputs.items()}
    return jsonify(try_decision(engine().script_engine, name, text, values).as_dict())
