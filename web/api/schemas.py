"""The API's request and response schemas."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from engine.store import queries
from processes.oversight.cases import PAGE_SIZES as CASE_PAGE_SIZES
from processes.oversight.cases import STATUSES


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class InputSchema(ma.Schema):
    """A request body: text with NUL characters is refused (no database column can keep it)."""

    @ma.validates_schema(pass_original=True)
    def refuse_nul(self, _data: Any, original: Any, **_kwargs: Any) -> None:
        """Refuse NUL characters anywhere in the body."""
        if _has_nul(original):
            raise ma.ValidationError("NUL characters are not allowed.")


class PageSchema(ma.Schema):
    """The paging of a list answer."""

    total = ma.fields.Integer(required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)


def page_of(item: type[ma.Schema]) -> type[PageSchema]:
    """The schema of one page of a list of ``item``: its paging and its items."""
    name = f"{item.__name__.removesuffix('Schema')}PageSchema"
    items = ma.fields.List(ma.fields.Nested(item), required=True)
    return type(name, (PageSchema,), {"items": items, "__doc__": f"One page of {item.__name__}."})


class TaskSchema(ma.Schema):
    """A human task with its case's list fields."""

    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    spec_id = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    state = ma.fields.String(required=True)
    form_key = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    completed_at = ma.fields.DateTime(allow_none=True)
    completed_by = ma.fields.String(allow_none=True)
    case_id = ma.fields.Integer(attribute="instance_id")
    business_number = ma.fields.String()
    process_key = ma.fields.String()
    customer_name = ma.fields.String(allow_none=True)
    priority = ma.fields.String(allow_none=True)


TaskPageSchema = page_of(TaskSchema)


class TaskQueryArgsSchema(InputSchema):
    """The inbox's tab, filters and paging."""

    tab = ma.fields.String(
        load_default="mine",
        validate=validate.OneOf(queries.TABS),
        metadata={
            "description": "mine: assigned to me; offered: my roles' open tasks; done; team (supervisors)"
        },
    )
    process = ma.fields.String(validate=validate.Length(max=128))
    step = ma.fields.String(validate=validate.Length(max=256))
    urgency = ma.fields.String(validate=validate.Length(max=32))
    overdue = ma.fields.Boolean(load_default=False)
    q = ma.fields.String(load_default="", validate=validate.Length(max=queries.MAX_SEARCH))
    order = ma.fields.String(validate=validate.OneOf(("asc", "desc")))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.OneOf(queries.PAGE_SIZES))


class FormDataSchema(InputSchema):
    """Form data, checked against the task's or process's form exactly as the page checks it."""

    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class TaskCompletionSchema(FormDataSchema):
    """Form data, and the caller's password where the step is a signed approval."""

    password = ma.fields.String(
        load_default=None,
        metadata={
            "description": "Re-entered password; required where the step is signed (批准, 审核, 放行)."
        },
    )


class AssignSchema(InputSchema):
    """Whom a supervisor assigns a task to."""

    assignee = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class StartCaseSchema(InputSchema):
    """A case to start: the process and its start form's data."""

    process_key = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class ReasonSchema(InputSchema):
    """Why a manager suspends, resumes, terminates or retries a case."""

    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MessageSchema(InputSchema):
    """A message for a case waiting for it."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=256))
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class StartedCaseSchema(ma.Schema):
    """A case just started."""

    id = ma.fields.Integer(required=True)
    business_number = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class CaseFieldsSchema(ma.Schema):
    """What the case list and a case's page both show of a case."""

    id = ma.fields.Integer(required=True)
    business_number = ma.fields.String(required=True)
    process_key = ma.fields.String()
    version = ma.fields.Integer()
    status = ma.fields.String()
    current_step = ma.fields.String(allow_none=True)
    customer_name = ma.fields.String(allow_none=True)
    started_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)


class CaseSchema(CaseFieldsSchema):
    """A case as the case list shows it."""

    process_name = ma.fields.String()
    assignees = ma.fields.List(ma.fields.String())


CasePageSchema = page_of(CaseSchema)


class CaseQueryArgsSchema(InputSchema):
    """The case list's filters and paging."""

    q = ma.fields.String(load_default="", validate=validate.Length(max=100))
    process = ma.fields.String(load_default="", validate=validate.Length(max=128))
    version = ma.fields.Integer(validate=validate.Range(min=1, max=1_000_000))
    status = ma.fields.String(load_default="", validate=validate.OneOf(("", *STATUSES)))
    step = ma.fields.String(load_default="", validate=validate.Length(max=100))
    customer = ma.fields.String(load_default="", validate=validate.Length(max=100))
    assignee = ma.fields.String(load_default="", validate=validate.Length(max=64))
    breached = ma.fields.String(load_default="", validate=validate.OneOf(("", "yes", "no", "open")))
    started_from = ma.fields.Date()
    started_to = ma.fields.Date()
    ended_from = ma.fields.Date()
    ended_to = ma.fields.Date()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=50, validate=validate.OneOf(CASE_PAGE_SIZES))


class EventSchema(ma.Schema):
    """One entry of a case's audit trail."""

    id = ma.fields.Integer()
    action = ma.fields.String()
    at = ma.fields.DateTime()
    actor = ma.fields.String(allow_none=True)
    task_id = ma.fields.String(allow_none=True)
    element_id = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(allow_none=True)


class DocumentSchema(ma.Schema):
    """A file attached to a case."""

    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    uploaded_at = ma.fields.DateTime()


class CaseDetailSchema(CaseFieldsSchema):
    """One case with its data, tasks, events and documents."""

    priority = ma.fields.String(allow_none=True)
    started_by = ma.fields.String(allow_none=True)
    error_element = ma.fields.String(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema))
    events = ma.fields.List(ma.fields.Nested(EventSchema))
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema))


class DefinitionSchema(ma.Schema):
    """A deployed version of a process."""

    id = ma.fields.Integer(required=True)
    process_key = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    name = ma.fields.String()
    deployed_by = ma.fields.String(allow_none=True)
    deployed_at = ma.fields.DateTime()
    change_summary = ma.fields.String(allow_none=True)
    startable = ma.fields.Boolean(metadata={"description": "Whether the caller's roles may start it"})


class FileSchema(ma.Schema):
    """A source file of a deployed version."""

    name = ma.fields.String(required=True)
    content = ma.fields.String(required=True)
