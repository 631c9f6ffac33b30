"""The trial run of a process's draft before deploy, and the replay of a recorded case on it.

Process owners only (403 for others). The page sends the files it edits (the saved draft,
else the newest version) with the plan — start moment, sample data, the answers so far — and
gets the whole run back; nothing is written to real cases (``engine.runtime.trial``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.definitions.names import names_in
from engine.errors import DeploymentInvalid, EngineError, NotFound
from engine.runtime.library import with_library_files
from engine.runtime.trial import DEFAULT_MINUTES, TrialPlan, TrialResult, TrialStep, bundle_of, run_trial
from engine.runtime.trial_replay import ReplayResult, recorded_case, replay
from engine.store.models import ProcessDefinition, ProcessInstance
from processes.roles import ROLE_KEYS, role
from web.auth import current_actor, engine
from web.i18n import current_lang, format_when, user_timezone
from web.messages import translate_errors
from web.modeler import _editable, _json_body
from web.modeler.owners import owners_only

bp = Blueprint("modeler_trial", __name__, url_prefix="/modeler")

#: How many of a process's latest cases the page offers to take data from or to replay.
RECENT_CASES = 50


bp.before_request(owners_only)


@bp.get("/<process_key>/trial")
def page(process_key: str) -> Any:
    """The trial run page of a process's draft (or newest version)."""
    target = _editable(process_key)
    return render_template(
        "modeler/trial.html",
        definition=target,
        files_url=url_for("modeler.api_files", process_key=process_key),
        editor_url=url_for("modeler.editor", process_key=process_key),
        default_minutes=int(DEFAULT_MINUTES),
        now=datetime.now(_zone()).strftime("%Y-%m-%dT%H:%M"),
    )


@bp.get("/api/<process_key>/trial/cases")
def api_cases(process_key: str) -> Any:
    """The process's latest cases (any version), to take sample data from or to replay."""
    with engine().sessions() as session:
        rows = session.execute(
            select(ProcessInstance.id, ProcessInstance.business_number, ProcessInstance.status)
            .add_columns(ProcessDefinition.version)
            .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.process_key == process_key)
            .order_by(ProcessInstance.id.desc())
            .limit(RECENT_CASES)
        ).all()
    return jsonify(
        cases=[
            {"id": r.id, "business_number": r.business_number, "status": r.status, "version": r.version}
            for r in rows
        ]
    )


@bp.get("/api/<process_key>/trial/cases/<int:instance_id>")
def api_case_data(process_key: str, instance_id: int) -> Any:
    """A recorded case's start data and start moment, as sample data for a trial."""
    try:
        case = recorded_case(engine(), instance_id, process_key)
    except NotFound:
        abort(404)
    return jsonify(data=case.plan.data, start_at=_local_input(case.plan.start_at))


@bp.post("/api/<process_key>/trial")
def api_trial(process_key: str) -> Any:
    """Run the files on a simulated clock with the plan's data and answers."""
    body = _json_body()
    try:
        bundle = bundle_of(engine(), with_library_files(engine(), _files_of(body)), process_key)
        plan = _plan_of(body)
        result = run_trial(engine(), bundle, plan, current_actor())
    except DeploymentInvalid as error:
        return jsonify(
            ok=False, message=_("Fix the problems of the draft first."), problems=_problems(error)
        ), 422
    except EngineError as error:
        return jsonify(ok=False, message=str(error), problems=[]), 422
    return jsonify(ok=True, trial=_trial_json(result, bundle.meta))


@bp.post("/api/<process_key>/replay")
def api_replay(process_key: str) -> Any:
    """Replay a recorded case's answers on the files and say where the run first differs."""
    body = _json_body()
    instance_id = body.get("case")
    if not isinstance(instance_id, int):
        abort(400)
    try:
        bundle = bundle_of(engine(), with_library_files(engine(), _files_of(body)), process_key)
        case = recorded_case(engine(), instance_id, process_key)
        result = replay(engine(), bundle, case, current_actor())
    except DeploymentInvalid as error:
        return jsonify(
            ok=False, message=_("Fix the problems of the draft first."), problems=_problems(error)
        ), 422
    except NotFound:
        abort(404)
    except EngineError as error:
        return jsonify(ok=False, message=str(error), problems=[]), 422
    return jsonify(ok=True, replay=_replay_json(result, bundle.meta))


# --- request and answer ------------------------------------------------------------------------


def _files_of(body: Mapping[str, Any]) -> dict[str, str]:
    files = body.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        abort(400)
    return dict(files)


def _plan_of(body: Mapping[str, Any]) -> TrialPlan:
    """The plan the page sent: a local start moment, sample data and the answers in order."""
    try:
        start_at = datetime.fromisoformat(str(body.get("start_at") or ""))
    except ValueError:
        raise EngineError(_("Give the moment the trial starts at.")) from None
    if start_at.tzinfo is None:
        start_at = start_at.replace(tzinfo=_zone())
    data, steps = body.get("data") or {}, body.get("steps") or []
    if not isinstance(data, dict) or not isinstance(steps, list):
        abort(400)
    default = body.get("default_minutes", DEFAULT_MINUTES)
    if not isinstance(default, int | float) or not 0 <= default <= 7 * 24 * 60:
        raise EngineError(_("A step takes from 0 minutes to 7 days."))
    return TrialPlan(start_at, data, [_step_of(s) for s in steps], float(default))


def _step_of(step: Any) -> TrialStep:
    if not isinstance(step, dict):
        abort(400)
    element, data, minutes = step.get("element"), step.get("data") or {}, step.get("minutes")
    if (element is not None and not isinstance(element, str)) or not isinstance(data, dict):
        abort(400)
    if minutes is not None and not isinstance(minutes, int | float):
        abort(400)
    message = step.get("message")
    if message is not None and not isinstance(message, str):
        abort(400)
    return TrialStep(element, data, None if minutes is None else float(minutes), message)


def _problems(error: DeploymentInvalid) -> list[dict[str, Any]]:
    return [{"element_id": p.element_id, "message": p.message, "file": p.file} for p in error.problems]


def _when(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {"iso": moment.isoformat(), "text": format_when(moment)}


def _zone() -> ZoneInfo:
    """The user's timezone as a ``ZoneInfo`` (a wall-clock time is attached to it with ``replace``)."""
    return ZoneInfo(str(user_timezone()))


def _local_input(moment: datetime) -> str:
    return moment.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def _role_label(key: str | None) -> str | None:
    if not key or key not in ROLE_KEYS:
        return key
    found = role(key)
    return found.name_en if current_lang() == "en" else found.name_zh


def _trial_json(result: TrialResult, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The run as the page shows it: times in the user's timezone, names in the user's language."""
    lang = current_lang()
    names = names_in(meta, lang)
    refused = dict(result.refused) if result.refused else None
    if refused and "errors" in refused:
        refused["errors"] = translate_errors(refused["errors"], lang)
    return {
        "events": [
            {
                "kind": e.kind,
                "element": e.element,
                "name": names.get(e.element or "", e.element),
                "at": _when(e.at),
                "due": _when(e.due),
                "step": e.step,
                "detail": e.detail,
            }
            for e in result.events
        ],
        "path": result.path,
        "open_tasks": [
            {
                "element": t.element,
                "name": names.get(t.element, t.name),
                "role": _role_label(t.role),
                "form_key": t.form_key,
                "due": _when(t.due),
                "fields": t.fields,
            }
            for t in result.open_tasks
        ],
        "timers": [{"element": e, "name": names.get(e, e), "due": _when(d)} for e, d in result.timers],
        "finished": result.finished,
        "clock": _when(result.clock),
        "steps_done": result.steps_done,
        "error": result.error,
        "refused": refused,
        "start_fields": result.start_fields,
    }


def _replay_json(result: ReplayResult, meta: Mapping[str, Any]) -> dict[str, Any]:
    names = names_in(meta, current_lang())
    difference = dict(result.difference) if result.difference else None
    if difference:
        for part in ("after", "recorded", "draft", "element"):
            if difference.get(part):
                difference[part + "_name"] = names.get(difference[part], difference[part])
        if "errors" in difference:
            difference["errors"] = translate_errors(difference["errors"], current_lang())
    case = result.case
    return {
        "case": {"id": case.instance_id, "business_number": case.business_number, "version": case.version},
        "trial": _trial_json(result.trial, meta),
        "difference": difference,
        "due_changes": [
            {
                "step": c["step"],
                "element": c["element"],
                "name": names.get(c["element"], c["element"]),
                "recorded": _when(c["recorded"]),
                "draft": _when(c["draft"]),
            }
            for c in result.due_changes
        ],
    }
