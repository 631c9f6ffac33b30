"""Process owners' workshop: the process library, the editors, validate, deploy, compare, migrate.

Every URL of this blueprint is for process owners (and admins) only: anyone else gets 403
(and an anonymous visitor the login page). The editors work on all files of one process
(its BPMN file, the decision tables and forms it uses) and talk JSON with the API below;
validation and deploy are the engine's own (``Engine.deploy``), so the editor shows exactly
what a deploy would refuse.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from engine.definitions import FORM_SUFFIX, MAX_FILE_BYTES, Problem
from engine.definitions.convert import convert_foreign
from engine.definitions.diff import compare_versions, definition_of
from engine.definitions.draft_checks import check_draft_settings
from engine.definitions.drafts import (
    discard_draft,
    drafts_of,
    heartbeat,
    load_draft,
    save_draft,
)
from engine.definitions.starter import PROCESS_KEY, copied_bpmn, starter_bpmn, with_names_en
from engine.errors import ConcurrentModification, DeploymentInvalid, EngineError
from engine.runtime import Engine
from engine.runtime.library import user_names, with_library_files
from engine.runtime.migration import MIGRATABLE, plan_migration
from engine.store.models import ProcessDefinition, ProcessInstance
from processes.roles import ROLE_KEYS, ROLES, role
from web.auth import current_actor, engine
from web.i18n import current_lang
from web.messages import translate
from web.modeler.draft_presence import newer_than_my_draft, newer_warning, presence, service_parameters
from web.modeler.new_files import SUFFIXES, new_file, new_file_problem
from web.modeler.owners import OWNER_ROLES, owners_only
from web.names_view import person

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

_FILE_NAME = re.compile(r"^[\w\-. ]{1,120}\.(bpmn|dmn|form\.json)$", re.UNICODE)


bp.before_request(owners_only)


def is_process_owner(user: Any) -> bool:
    """Tell whether a (session) user may use the modeler (for templates)."""
    return bool(getattr(user, "is_authenticated", False) and OWNER_ROLES & user.roles)


# --- pages --------------------------------------------------------------------------------------


@bp.get("/")
def library() -> Any:
    """Every process with its versions and the running cases per version."""
    return render_template("modeler/library.html", processes=_library(engine()), roles=ROLES)


@bp.get("/<process_key>/v<int:version>.zip")
def download(process_key: str, version: int) -> Any:
    """The files of one version as a zip."""
    definition = _definition(process_key, version)
    buffer = io.BytesIO()
    files = engine().definitions.files(definition)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            folder = "forms/" if name.endswith(FORM_SUFFIX) else ""
            archive.writestr(folder + name, files[name])
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{process_key}-v{version}.zip",
    )


@bp.get("/<process_key>/edit")
def editor(process_key: str) -> Any:
    """The editors (BPMN, decision tables, forms) over the draft or the newest version."""
    target = _editable(process_key)
    autosave_ms = int(current_app.config.get("AFTERFLOW_MODELER_AUTOSAVE_MS", 30000))
    presence_ms = int(current_app.config.get("AFTERFLOW_MODELER_PRESENCE_MS", 30000))
    return render_template(
        "modeler/editor.html",
        definition=target,
        autosave_ms=autosave_ms,
        presence_ms=presence_ms,
        services=service_parameters(engine().config.services),
        max_cardinality=engine().limits.max_cardinality,
    )


@bp.post("/new")
def new_process() -> Any:
    """Start a new process as a draft: blank (start, one task in a role's lane, end) or a copy."""
    key = request.form.get("process_key", "").strip()
    name = request.form.get("name", "").strip()
    name_en = request.form.get("name_en", "").strip() or name
    role_key = request.form.get("role", "")
    template = request.form.get("template", "").strip()
    problems = []
    if not PROCESS_KEY.match(key):
        problems.append(
            _("The process id takes 3 to 64 lowercase letters, digits and underscores, from a letter.")
        )
    if not name or len(name) > 120 or len(name_en) > 120:
        problems.append(_("Name the process (at most 120 characters)."))
    if template and not _exists(template):
        problems.append(_("Choose a deployed process to copy."))
    if not template and role_key not in ROLE_KEYS:
        problems.append(_("Choose the role of the first step."))
    if not problems and (_exists(key) or drafts_of(engine().sessions, key)):
        problems.append(_("A process with the id %(key)s exists already.", key=key))
    if problems:
        for message in problems:
            flash(message, "error")
        return redirect(url_for("modeler.library"))
    if template:
        bpmn = copied_bpmn(_main_bpmn(_latest(template)), template, key, name, name_en)
    else:
        lane = role(role_key)
        bpmn = with_names_en(
            starter_bpmn(key, name, lane.name_zh, _("First step")),
            {key: name_en, f"participant_{key}": name_en, "lane_1": lane.name_en, "task_1": "First step"},
        )
    save_draft(engine().sessions, key, {f"{key}.bpmn": bpmn}, current_user.username, None)
    flash(_("The new process %(name)s is a draft: draw it, validate and deploy.", name=name), "ok")
    return redirect(url_for("modeler.editor", process_key=key))


@bp.get("/<process_key>/compare")
def compare(process_key: str) -> Any:
    """Two versions side by side: elements added, removed and changed, marked on the diagrams."""
    latest = _latest(process_key)
    to_version = request.args.get("to", type=int) or latest.version
    from_version = request.args.get("from", type=int) or max(1, to_version - 1)
    with engine().sessions() as db:
        diff = compare_versions(db, process_key, from_version, to_version)
        all_versions = list(
            db.scalars(
                select(ProcessDefinition.version)
                .where(ProcessDefinition.process_key == process_key)
                .order_by(ProcessDefinition.version)
            )
        )
    return render_template(
        "modeler/compare.html",
        definition=latest,
        from_version=from_version,
        to_version=to_version,
        all_versions=all_versions,
        diff=diff,
    )


@bp.get("/<process_key>/migrate")
def migration(process_key: str) -> Any:
    """Dry run: every running case of version N and whether it can move to N+1."""
    latest = _latest(process_key)
    from_version = request.args.get("from", type=int) or max(1, latest.version - 1)
    to_version = request.args.get("to", type=int) or from_version + 1
    plan = plan_migration(engine(), process_key, from_version, to_version)
    return render_template("modeler/migrate.html", definition=latest, plan=plan)


@bp.post("/<process_key>/migrate")
def migrate(process_key: str) -> Any:
    """Move one case (``instance_id``) or every movable case (``all``) to the target version."""
    from_version = request.form.get("from", type=int)
    to_version = request.form.get("to", type=int)
    reason = request.form.get("reason", "").strip()
    if from_version is None or to_version is None:
        abort(400)
    back = redirect(f"{url_for('.migration', process_key=process_key)}?from={from_version}&to={to_version}")
    if not reason:
        flash(_("Give a reason for moving the cases."), "error")
        return back
    plan = plan_migration(engine(), process_key, from_version, to_version)
    wanted = request.form.get("instance_id", type=int)
    cases = [c for c in plan.cases if wanted is None or c.instance_id == wanted]
    moved, refused = [], []
    for case in cases:
        try:
            engine().migrate(case.instance_id, to_version, current_actor(), reason)
            moved.append(case.business_number)
        except EngineError as error:  # refused or changed meanwhile: listed, the others still move
            refused.append(f"{case.business_number}: {error}")
    if moved:
        flash(_("Moved to version %(v)s: %(cases)s", v=to_version, cases=", ".join(moved)), "ok")
    for line in refused:
        flash(line, "error")
    return back


@bp.post("/upload")
def upload() -> Any:
    """Deploy BPMN/DMN/form files made by any tool, or list what afterflow cannot run in them."""
    uploaded = request.files.getlist("files")
    summary = request.form.get("change_summary", "").strip() or _("Uploaded")
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for item in uploaded:
        name = (item.filename or "").rsplit("/", 1)[-1]
        if not name:
            continue
        if not _FILE_NAME.match(name):
            problems.append(Problem(name, _("not a .bpmn, .dmn or .form.json file")))
            continue
        data = item.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            problems.append(Problem(name, _("the file is larger than 5 MB")))
            continue
        try:
            files[name] = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(Problem(name, _("the file is not UTF-8 text")))
    if not files and not problems:
        problems.append(Problem("files", _("choose a file to upload")))
    report = None
    conversion = (
        convert_foreign(_with_supporting_files(files), known_users=user_names(engine()))
        if not problems
        else None
    )
    if conversion is not None:
        try:
            report = engine().deploy(
                conversion.files, deployed_by=current_user.username, change_summary=summary
            )
        except DeploymentInvalid as error:
            problems = list(error.problems)
        except ConcurrentModification as error:
            problems = [Problem("deploy", str(error))]
    status = 422 if problems else 200
    return (
        render_template(
            "modeler/upload.html",
            problems=problems,
            report=report,
            conversion=conversion.changes if conversion else [],
            processes=_library(engine()),
        ),
        status,
    )


# --- JSON API of the editors ------------------------------------------------------------------


@bp.get("/api/<process_key>/files")
def api_files(process_key: str) -> Any:
    """The files to edit: the draft when there is one, else the given or newest version."""
    version = request.args.get("version", type=int)
    draft = load_draft(engine().sessions, process_key, current_user.username) if version is None else None
    exists = _exists(process_key)
    latest = _latest(process_key) if exists else None
    if draft is None and latest is None:
        # A new process, not deployed yet: start from the draft its creator (or another owner) saved.
        others = drafts_of(engine().sessions, process_key)
        if not others:
            abort(404)
        return jsonify(
            source="draft",
            files=others[0].files,
            version=None,
            latest=None,
            author=person(others[0].author),
            updated_at=others[0].updated_at.isoformat(),
            others=presence(process_key),
        )
    if draft is not None:
        return jsonify(
            source="draft",
            files=draft.files,
            version=draft.base_version,
            latest=latest.version if latest else None,
            author=person(draft.author),
            updated_at=draft.updated_at.isoformat(),
            others=presence(process_key),
        )
    assert latest is not None
    definition = _definition(process_key, version) if version is not None else latest
    return jsonify(
        source="version",
        files=engine().definitions.files(definition),
        version=definition.version,
        latest=latest.version,
        others=presence(process_key),
    )


@bp.route("/api/<process_key>/draft", methods=["PUT", "POST"])
def api_save_draft(process_key: str) -> Any:
    """Keep the editor's files as the user's own draft of the process (others' drafts stay)."""
    _editable(process_key)
    body = _json_body()
    files = _files_of(body)
    runtime = engine()
    refused = check_draft_settings(files, runtime.limits, runtime.config.services)
    if refused:
        lang = current_lang()
        problems = [
            {
                "element_id": p.element_id,
                "message": translate(p.message, lang),
                "file": p.file,
                "level": "error",
            }
            for p in refused
        ]
        message = _("The draft is not saved: %(problems)s", problems=" ".join(p["message"] for p in problems))
        return jsonify(ok=False, message=message, problems=problems), 422
    try:
        draft = save_draft(
            runtime.sessions,
            process_key,
            files,
            current_user.username,
            body.get("version") if isinstance(body.get("version"), int) else None,
        )
    except EngineError as error:
        return jsonify(ok=False, message=str(error)), 400
    return jsonify(ok=True, updated_at=draft.updated_at.isoformat(), others=presence(process_key))


@bp.post("/api/<process_key>/presence")
def api_presence(process_key: str) -> Any:
    """The open editor's heartbeat: note that the user is editing, and say who else is."""
    _editable(process_key)
    heartbeat(engine().sessions, process_key, current_user.username)
    return jsonify(ok=True, others=presence(process_key))


@bp.post("/api/<process_key>/new-file")
def api_new_file(process_key: str) -> Any:
    """Add a new decision table or form to the user's draft; the editor then opens it."""
    _editable(process_key)
    body = _json_body()
    kind, key = body.get("kind"), str(body.get("key", "")).strip()
    if kind not in SUFFIXES:
        abort(400)
    files = _files_of(body)
    problem = new_file_problem(kind, key, _with_supporting_files(files))
    if problem:
        return jsonify(ok=False, message=problem), 422
    title = str(body.get("name", "")).strip()[:120] or key
    name, text = new_file(kind, key, title, str(body.get("name_en", "")).strip()[:120] or title)
    files[name] = text
    version = body.get("version") if isinstance(body.get("version"), int) else None
    draft = save_draft(engine().sessions, process_key, files, current_user.username, version)
    return jsonify(ok=True, file=name, text=text, updated_at=draft.updated_at.isoformat())


@bp.delete("/api/<process_key>/draft")
def api_discard_draft(process_key: str) -> Any:
    """Throw the user's own draft away (the editor reopens the newest version)."""
    return jsonify(ok=True, discarded=discard_draft(engine().sessions, process_key, current_user.username))


@bp.post("/api/<process_key>/validate")
def api_validate(process_key: str) -> Any:
    """Validate the editor's files exactly as a deploy would, without deploying."""
    _editable(process_key)
    files = _files_of(_json_body())
    try:
        report = engine().deploy(_with_supporting_files(files), current_user.username, None, dry_run=True)
    except DeploymentInvalid as error:
        return jsonify(ok=False, problems=_problems_json(error.problems))
    warnings = _problems_json(report.warnings, "warning")
    return jsonify(ok=True, problems=warnings, warnings=warnings, deployed=[list(d) for d in report.deployed])


@bp.post("/api/<process_key>/deploy")
def api_deploy(process_key: str) -> Any:
    """Deploy the editor's files as a new version (with a change summary); drop the user's draft.

    When versions were deployed after the user's draft was started, the deploy is held back with
    a warning naming them, until the editor confirms (``over_newer``).
    """
    _editable(process_key)
    body = _json_body()
    summary = str(body.get("change_summary") or "").strip()
    if not summary:
        return jsonify(ok=False, message=_("Describe the change before deploying."), problems=[]), 400
    files = _files_of(body)
    newer = newer_than_my_draft(process_key, body)
    if newer and body.get("over_newer") is not True:
        return jsonify(ok=False, newer=newer, message=newer_warning(newer), problems=[]), 409
    try:
        report = engine().deploy(_with_supporting_files(files), current_user.username, summary)
    except DeploymentInvalid as error:
        return jsonify(ok=False, message=str(error), problems=_problems_json(error.problems)), 422
    except ConcurrentModification as error:
        return jsonify(ok=False, message=str(error), problems=[]), 409
    discard_draft(engine().sessions, process_key, current_user.username)
    return jsonify(
        ok=True,
        deployed=[list(d) for d in report.deployed],
        unchanged=[list(d) for d in report.unchanged],
        warnings=_problems_json(report.warnings, "warning"),
    )


@bp.get("/api/<process_key>/compare")
def api_compare(process_key: str) -> Any:
    """The comparison of two versions as JSON, with both versions' BPMN for the viewers."""
    from_version = request.args.get("from", type=int)
    to_version = request.args.get("to", type=int)
    if from_version is None or to_version is None:
        abort(400)
    with engine().sessions() as db:
        diff = compare_versions(db, process_key, from_version, to_version)
        old = definition_of(db, process_key, from_version)
        new = definition_of(db, process_key, to_version)
    return jsonify(
        diff=diff.as_dict(),
        from_bpmn=_main_bpmn(old),
        to_bpmn=_main_bpmn(new),
    )


# --- helpers ------------------------------------------------------------------------------------


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _files_of(body: Mapping[str, Any]) -> dict[str, str]:
    files = body.get("files")
    if not isinstance(files, dict) or not files:
        abort(400)
    clean: dict[str, str] = {}
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str) or not _FILE_NAME.match(name):
            abort(400)
        clean[name] = text
    return clean


def _problems_json(problems: list[Any], level: str = "error") -> list[dict[str, Any]]:
    lang = current_lang()
    return [
        {
            "element_id": p.element_id,
            "message": translate(p.code, lang) if getattr(p, "code", None) else p.message,
            "file": p.file,
            "level": level,
        }
        for p in problems
    ]


def _with_supporting_files(files: Mapping[str, str]) -> dict[str, str]:
    return with_library_files(engine(), files)


def _main_bpmn(definition: ProcessDefinition) -> str:
    for name, text in sorted(engine().definitions.files(definition).items()):
        if name.endswith(".bpmn") and f'id="{definition.process_key}"' in text:
            return text
    return next(
        (t for n, t in sorted(engine().definitions.files(definition).items()) if n.endswith(".bpmn")), ""
    )


@dataclass(frozen=True)
class _Editable:
    """What the editor page needs of a process: deployed, or a new one that is only a draft."""

    process_key: str
    name: str
    version: int | None


def _exists(process_key: str) -> bool:
    with engine().sessions() as db:
        return (
            db.scalar(
                select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key).limit(1)
            )
            is not None
        )


def _editable(process_key: str) -> _Editable:
    """The deployed process, or the draft of a new one; 404 when neither exists."""
    if _exists(process_key):
        latest = _latest(process_key)
        return _Editable(process_key, latest.name, latest.version)
    drafts = drafts_of(engine().sessions, process_key)
    if not drafts:
        abort(404)
    draft = drafts[0]
    match = re.search(r'<bpmn:process[^>]*\bname="([^"]*)"', next(iter(draft.files.values()), ""))
    return _Editable(process_key, html.unescape(match.group(1)) if match else process_key, None)


def _latest(process_key: str) -> ProcessDefinition:
    with engine().sessions() as db:
        return engine().latest_definition(db, process_key)


def _definition(process_key: str, version: int) -> ProcessDefinition:
    with engine().sessions() as db:
        return definition_of(db, process_key, version)


def _library(runtime: Engine) -> list[dict[str, Any]]:
    with runtime.sessions() as db:
        running = dict(
            db.execute(
                select(ProcessInstance.definition_id, func.count(ProcessInstance.id))
                .where(ProcessInstance.status.in_(MIGRATABLE))
                .group_by(ProcessInstance.definition_id)
            ).all()
        )
        rows = db.scalars(
            select(ProcessDefinition).order_by(
                ProcessDefinition.process_key, ProcessDefinition.version.desc()
            )
        ).all()
        authors = _draft_authors(db)
        drafts = set(authors)
    processes: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = processes.setdefault(
            row.process_key,
            {"key": row.process_key, "name": row.name, "latest": row.version, "versions": [], "draft": False},
        )
        entry["versions"].append({"definition": row, "running": int(running.get(row.id, 0))})
        entry["draft"] = row.process_key in drafts
        entry["draft_by"] = authors.get(row.process_key, [])
    for key in sorted(drafts - set(processes)):
        processes[key] = {
            "key": key,
            "name": _editable(key).name,
            "latest": None,
            "versions": [],
            "draft": True,
            "draft_by": authors[key],
        }
    return list(processes.values())


def _draft_authors(db: Any) -> dict[str, list[str]]:
    """Who has a draft of each process (shown by name), by process key."""
    from engine.store.models import DefinitionDraft

    found: dict[str, list[str]] = {}
    for key, author, files in db.execute(
        select(DefinitionDraft.process_key, DefinitionDraft.author, DefinitionDraft.files).order_by(
            DefinitionDraft.author
        )
    ):
        if files:  # an editor open without a saved draft is not a draft
            found.setdefault(key, []).append(person(author))
    return found
