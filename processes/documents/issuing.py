"""Issue a case's documents: check the case is ready, render the template version in use, keep the PDF.

Anyone who may see a case may issue its documents; the internal ones (客户抱怨处理表, the statistics)
are staff records like every other page of the case. Each issue is one transaction: the number,
the PDF bytes, their SHA-256, the template version and the audit event are written together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from afterflow import shipped_folder
from engine.accounts.users import Actor
from engine.errors import EngineError, NotFound, PermissionDenied
from engine.records.issued_documents import documents_of, issue_document
from engine.records.models import IssuedDocument
from engine.records.templates import current_template, render_template
from engine.runtime import Engine
from engine.runtime.case_variables import case_variables
from engine.store.models import Event, ProcessInstance
from engine.store.queries import display_names, may_see_case
from processes.documents.context import document_context, form_words, sample_context
from processes.documents.kinds import KINDS, DocumentKind, kinds_for, subjects
from processes.documents.pdf import PdfFont, html_to_pdf
from processes.documents.signatures import customer_signature
from processes.oversight.cases import case_data
from processes.terms import company_words


class DocumentRefused(EngineError):
    """A document cannot be issued; ``reason`` says why ("kind", "not_ready", "subject")."""

    code = "document_refused"

    def __init__(self, message: str, reason: str, kind: str = "") -> None:
        super().__init__(message, reason=reason, kind=kind)
        self.reason = reason


@dataclass(frozen=True)
class Issuable:
    """A document a case can have: its kind, for whom, and whether the case has what it needs yet."""

    kind: DocumentKind
    subject: str
    ready: bool


def templates_folder() -> Path:
    """The shipped document templates, beside the diagrams and forms."""
    return shipped_folder("diagrams") / "documents"


class Documents:
    """Issue and list the documents of cases."""

    def __init__(self, engine: Engine, font: PdfFont, templates: Path | None = None) -> None:
        self.engine = engine
        self.font = font
        self.templates = templates or templates_folder()

    @property
    def overseers(self) -> frozenset[str]:
        """The roles that see every case (as for comments and files)."""
        return self.engine.config.assigner_roles | self.engine.config.superuser_roles

    def _check_access(self, instance_id: int, actor: Actor) -> None:
        with self.engine.sessions() as session:
            if session.get(ProcessInstance, instance_id) is None:
                raise NotFound("no such case")
            if not may_see_case(session, instance_id, actor, self.overseers):
                raise PermissionDenied("you may not see this case")

    def case_values(self, instance_id: int) -> dict[str, Any]:
        """Everything the case holds: what people entered, then the workflow's own variables over it."""
        with self.engine.sessions() as session:
            events = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id))
            data = case_data(events)
        data.update(case_variables(self.engine, instance_id))
        return data

    def issuable(self, instance_id: int, actor: Actor) -> list[Issuable]:
        """The documents this case can have, ready or not yet."""
        self._check_access(instance_id, actor)
        with self.engine.sessions() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            process_key = instance.process_key
        kinds = kinds_for(process_key)
        if not kinds:
            return []
        data = self.case_values(instance_id)
        out: list[Issuable] = []
        for kind in kinds:
            ready = kind.ready(data)
            for subject in subjects(kind, data) if ready else [""]:
                out.append(Issuable(kind, subject, ready))
        return out

    def issued(self, instance_id: int, actor: Actor) -> list[IssuedDocument]:
        """The documents issued on a case, oldest first."""
        self._check_access(instance_id, actor)
        with self.engine.sessions() as session:
            return documents_of(session, instance_id)

    def issue(self, instance_id: int, kind_key: str, actor: Actor, subject: str = "") -> IssuedDocument:
        """Issue a document of a case as the next version of its kind; return the kept document."""
        self._check_access(instance_id, actor)
        kind = KINDS.get(kind_key)
        with self.engine.sessions() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            if kind is None or kind.process_key != instance.process_key:
                raise DocumentRefused(
                    f"a {instance.process_key} case has no document {kind_key!r}", "kind", kind_key
                )
        data = self.case_values(instance_id)
        if not kind.ready(data):
            raise DocumentRefused(
                f"the case does not yet hold what the {kind.title} needs", "not_ready", kind.key
            )
        subject = subject.strip()
        if subject not in subjects(kind, data):
            raise DocumentRefused(f"{subject!r} is not a customer of this case", "subject", kind.key)
        tz = self.engine.config.calendar.timezone
        with self.engine.writer.begin() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            definition = instance.definition
            meta = self.engine.definitions.meta(definition)
            company = company_words(session)
            words = form_words(meta.get("forms") or {}, company.say)
            template = current_template(session, kind.template, self.templates / f"{kind.template}.html")
            body = company.say(template.body)
            issuer = display_names(session, [actor.username]).get(actor.username, actor.username)
            extra = _extra(kind, data, subject)
            if kind.key == "service_voucher":
                extra["signature"] = customer_signature(session, instance_id, tz)
            title = f"{kind.title}（{subject}）" if subject else kind.title

            def render(number: str, version: int, issued_at: datetime) -> bytes:
                doc = {
                    "number": number,
                    "version": version,
                    "title": kind.title,
                    "subject": subject,
                    "issued_at": issued_at,
                    "issued_by": issuer,
                    "internal": kind.internal,
                }
                context = document_context(instance, definition.name, data, words, doc, tz, extra)
                context["doc"]["issued_at"] = context["moment"](issued_at)
                html = render_template(body, context)
                footer = f"{number}  第 {version} 版  {instance.business_number}"
                return html_to_pdf(html, self.font, title, footer, issued_at)

            return issue_document(
                session,
                instance,
                kind.key,
                title,
                render,
                actor.username,
                tz,
                subject=subject,
                template=template,
            )


def _extra(kind: DocumentKind, data: Mapping[str, Any], subject: str) -> dict[str, Any]:
    """Values a kind needs beyond the case data: the customer a recall notice is addressed to."""
    if not kind.per_customer:
        return {}

    def find(items: Any) -> dict[str, Any]:
        for item in items or []:
            if isinstance(item, Mapping) and item.get("customer_name") == subject:
                return dict(item)
        return {}

    return {"customer": find(data.get("customers")), "notification": find(data.get("notifications"))}


def check_layout(body: str, font: PdfFont) -> None:
    """Lay a template out on empty data, so markup the PDF cannot place is refused before it is saved."""
    html = render_template(body, sample_context())
    html_to_pdf(html, font, "check", "check")
