"""Document templates: versions kept in the database, rendered by Jinja2 in its sandbox.

A template is HTML with Jinja2 placeholders, written by process owners. It renders in
``SandboxedEnvironment`` — no attribute starting with an underscore, no calls to unsafe
methods, no imports, no file access — with autoescaping on, so case data cannot inject markup.
The shipped text (``diagrams/documents/<name>.html``) becomes version 1 the first time a
template is used; each edit saved in the browser is the next version, never an overwrite, and
every issued document names the template version it was made from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import EngineError
from engine.records.models import DocumentTemplate
from engine.store.models import Event

MAX_TEMPLATE_CHARS = 100_000


class TemplateRefused(EngineError):
    """A template could not be saved or rendered; ``reason`` says why ("syntax", "too_long", "unsafe")."""

    code = "template_refused"

    def __init__(self, message: str, reason: str, line: int | None = None) -> None:
        super().__init__(message, reason=reason, line=line)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class TemplateVersion:
    """The text of one saved template version and what identifies it."""

    name: str
    version: int
    body: str
    sha256: str


def _environment(undefined: type[Undefined]) -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=undefined, trim_blocks=True, lstrip_blocks=True)


#: Renders documents: a missing value (or a value of a missing one) prints as nothing, never as an
#: error on a half-filled case.
RENDERING = _environment(ChainableUndefined)


def sha256_text(text: str) -> str:
    """Return the SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_template(body: str, sample: Mapping[str, Any] | None = None) -> None:
    """Refuse a template that is too long, does not parse, or reaches outside the sandbox.

    ``sample`` is a context to try the template on (the names documents render with, mostly
    empty): a template that reaches for an unsafe attribute fails the trial render.
    """
    if len(body) > MAX_TEMPLATE_CHARS:
        raise TemplateRefused(f"a template may have at most {MAX_TEMPLATE_CHARS} characters", "too_long")
    try:
        tree = RENDERING.parse(body)
        template = RENDERING.from_string(body)
    except TemplateSyntaxError as error:
        raise TemplateRefused(error.message or str(error), "syntax", error.lineno)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = (
            node.attr
            if isinstance(node, nodes.Getattr)
            else getattr(getattr(node, "arg", None), "value", None)
        )
        if isinstance(name, str) and name.startswith("_"):
            # The sandbox would print nothing here; a template that tries is refused outright.
            raise TemplateRefused(f"a template may not read {name!r}", "unsafe", node.lineno)
    try:
        template.render(dict(sample or {}))
    except SecurityError as error:
        raise TemplateRefused(str(error), "unsafe")
    except RecursionError:
        raise TemplateRefused("the template calls itself without end", "unsafe")
    except Exception:  # a value the sample lacks (e.g. a number format on nothing) is data, not the template
        pass


def render_template(body: str, context: Mapping[str, Any]) -> str:
    """Render a template's text with a context in the sandbox."""
    try:
        return RENDERING.from_string(body).render(dict(context))
    except SecurityError as error:
        raise TemplateRefused(str(error), "unsafe")
    except TemplateError as error:
        raise TemplateRefused(str(error), "syntax", getattr(error, "lineno", None))


def _newest(session: Session, name: str) -> DocumentTemplate | None:
    return session.scalar(
        select(DocumentTemplate)
        .where(DocumentTemplate.name == name)
        .order_by(DocumentTemplate.version.desc())
        .limit(1)
    )


def current_template(session: Session, name: str, shipped: Path) -> TemplateVersion:
    """Return the template in use: the newest saved version, or the shipped file saved as version 1."""
    row = _newest(session, name)
    if row is None:
        body = shipped.read_text(encoding="utf-8")
        row = DocumentTemplate(
            name=name,
            version=1,
            body=body,
            sha256=sha256_text(body),
            saved_by=None,
            saved_at=clock.now(),
            change_summary="shipped",
        )
        session.add(row)
        session.flush()
    return TemplateVersion(row.name, row.version, row.body, row.sha256)


def template_versions(session: Session, name: str) -> list[DocumentTemplate]:
    """Every saved version of a template, newest first."""
    return list(
        session.scalars(
            select(DocumentTemplate)
            .where(DocumentTemplate.name == name)
            .order_by(DocumentTemplate.version.desc())
        )
    )


def save_template(
    session: Session,
    name: str,
    body: str,
    saved_by: str,
    change_summary: str | None = None,
    sample: Mapping[str, Any] | None = None,
) -> TemplateVersion:
    """Check a template and save it as the next version (identical text saves nothing)."""
    check_template(body, sample)
    newest = _newest(session, name)
    digest = sha256_text(body)
    if newest is not None and newest.sha256 == digest:
        return TemplateVersion(newest.name, newest.version, newest.body, newest.sha256)
    version = (
        session.scalar(select(func.max(DocumentTemplate.version)).where(DocumentTemplate.name == name)) or 0
    ) + 1
    now = clock.now()
    row = DocumentTemplate(
        name=name,
        version=version,
        body=body,
        sha256=digest,
        saved_by=saved_by,
        saved_at=now,
        change_summary=(change_summary or "").strip()[:500] or None,
    )
    session.add(row)
    session.add(
        Event(
            instance_id=None,
            actor=saved_by,
            action="template_saved",
            at=now,
            data={"template": name, "version": version, "sha256": digest},
        )
    )
    session.flush()
    return TemplateVersion(name, version, body, digest)
