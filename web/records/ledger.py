"""The sales ledger (销售记录) in the browser: filter it, and import a CSV or XLSX file into it.

An import runs the command line's checks (``processes.records.ledger_import``): every row or
none, each problem with its row number. A browser that asks for ``application/x-ndjson`` gets
the import's progress as it goes, one JSON line per step, the outcome last; a plain form post
gets the ledger page with the outcome.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, flash, render_template, request, stream_with_context
from flask_babel import gettext as _

from processes.records.archive import LedgerFilter, ledger_page
from processes.records.ledger_import import (
    ImportReport,
    LedgerImportError,
    Progress,
    import_ledger,
    import_ledger_steps,
)
from web.auth import engine
from web.i18n import current_lang
from web.messages import translate_row
from web.records.blueprint import bp, may_import_ledger, may_read_ledger, require
from web.records.requests import page_number

NDJSON = "application/x-ndjson"
SUFFIXES = (".csv", ".xlsx")


def _date(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def ledger_filter() -> LedgerFilter:
    args = request.args
    return LedgerFilter(
        product=args.get("product", "")[:100],
        batch=args.get("batch", "")[:100],
        purchaser=args.get("purchaser", "")[:100],
        sold_from=_date("sold_from"),
        sold_to=_date("sold_to"),
        page=page_number(),
    )


def _render(f: LedgerFilter, status: int = 200, **extra: Any) -> Any:
    with engine().sessions() as session:
        page = ledger_page(session, f)
        session.expunge_all()
    return render_template(
        "records/ledger.html", page=page, f=f, may_import=may_import_ledger(), **extra
    ), status


@bp.get("/ledger")
def ledger() -> Any:
    """Ledger lines filtered by product, batch, purchaser and sale date."""
    require(may_read_ledger())
    return _render(ledger_filter())


def _outcome(report: ImportReport) -> dict[str, Any]:
    return {
        "result": "imported",
        "imported": report.imported,
        "customers_created": report.customers_created,
        "message": _(
            "Imported %(rows)s lines; %(customers)s new customers added to the archive.",
            rows=report.imported,
            customers=report.customers_created,
        ),
    }


def _refusal(error: LedgerImportError, lang: str) -> dict[str, Any]:
    return {
        "result": "refused",
        "message": _("Nothing was imported: the file has problems. Correct them and import it again."),
        "errors": [{"row": e.row, "message": translate_row(e.row, e.problem, lang)} for e in error.errors],
    }


def _progress(step: Progress) -> dict[str, Any]:
    if step.stage == "storing":
        text = _("Saving: %(done)s of %(total)s rows", done=step.done, total=step.total)
    else:
        text = _("Checking: %(done)s rows read", done=step.done)
    return {"stage": step.stage, "done": step.done, "total": step.total, "message": text}


@bp.post("/ledger/import")
def import_file() -> Any:
    """Import a ledger file: every row or none; the progress streams to a browser that asks for it."""
    require(may_import_ledger())
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    streaming = NDJSON in request.headers.get("Accept", "")
    if upload is None or not upload.filename or suffix not in SUFFIXES:
        message = _("Choose a CSV or XLSX file to import.")
        if streaming:
            line = json.dumps({"result": "refused", "message": message, "errors": []}, ensure_ascii=False)
            return Response(line + "\n", status=422, mimetype=NDJSON)
        flash(message, "error")
        return _render(LedgerFilter(), 422)
    folder = tempfile.TemporaryDirectory()
    stem = Path(upload.filename.replace("\\", "/")).stem[:100] or "ledger"
    path = Path(folder.name) / f"{stem}{suffix}"
    upload.save(path)
    lang = current_lang()
    if not streaming:
        try:
            outcome = _run(path, lang)
        finally:
            folder.cleanup()
        if outcome["result"] == "imported":
            flash(outcome["message"], "ok")
            return _render(LedgerFilter())
        flash(outcome["message"], "error")
        return _render(LedgerFilter(), 422, import_errors=outcome["errors"])

    response = Response(stream_with_context(_streamed(path, lang, folder)), mimetype=NDJSON)
    # Each line must reach the browser as it is made: no proxy buffering (nginx), no caching.
    response.headers["X-Accel-Buffering"] = "no"
    response.headers["Cache-Control"] = "no-store"
    return response


def _streamed(path: Path, lang: str, folder: tempfile.TemporaryDirectory[str]) -> Iterator[str]:
    """The import's progress lines as it runs, then its outcome; the file's folder removed at the end."""
    try:
        yield json.dumps({"stage": "received", "message": _("File received; checking rows…")}) + "\n"
        try:
            with engine().writer.begin() as session:
                steps = import_ledger_steps(session, path)
                while True:
                    try:
                        step = next(steps)
                    except StopIteration as finished:
                        report: ImportReport = finished.value
                        break
                    yield json.dumps(_progress(step), ensure_ascii=False) + "\n"
            outcome = _outcome(report)
        except LedgerImportError as error:
            outcome = _refusal(error, lang)
        yield json.dumps(outcome, ensure_ascii=False) + "\n"
    finally:
        folder.cleanup()


def _run(path: Path, lang: str) -> dict[str, Any]:
    try:
        with engine().writer.begin() as session:
            return _outcome(import_ledger(session, path))
    except LedgerImportError as error:
        return _refusal(error, lang)
