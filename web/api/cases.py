"""Cases: start one with its start form's data, list them as the case list does, follow one, operate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView

from engine.accounts.users import Actor
from engine.store import queries, task_page
from processes.oversight.cases import CaseFilter, case_detail, list_cases
from web.api.auth import api_actor, api_blueprint
from web.api.errors import refuse
from web.api.schemas import (
    CaseDetailSchema,
    CasePageSchema,
    CaseQueryArgsSchema,
    ReasonSchema,
    StartCaseSchema,
    StartedCaseSchema,
)
from web.api.tasks import task_dict
from web.auth import engine
from web.inbox import overseers
from web.oversight import company_timezone

MAX_ID = 2**31 - 1

blp = api_blueprint(
    "api_cases", "/api/v1/cases", "Cases: start, list, follow, suspend, resume, terminate, retry."
)


def is_manager(actor: Actor) -> bool:
    """Tell whether the actor may use the managers' case list and operations."""
    return bool(engine().config.manager_roles & actor.roles)


def case_answer(instance_id: int) -> dict[str, Any]:
    """Return one case with its data, tasks, events and documents, if the caller may see it."""
    actor = api_actor()
    if not 0 < instance_id <= MAX_ID:  # beyond PostgreSQL's integer: no such case, not an error
        refuse(404)
    with engine().sessions() as db:
        detail = case_detail(db, instance_id)
        if detail is None:
            refuse(404)
        if not is_manager(actor) and not queries.may_see_case(db, instance_id, actor, overseers()):
            refuse(403)
        instance = detail.instance
        return {
            **{
                name: getattr(instance, name) for name in CaseDetailSchema().fields if hasattr(instance, name)
            },
            "version": detail.definition.version,
            "data": detail.data,
            "tasks": [task_dict(task) for task in detail.tasks],
            "events": detail.events,
            "documents": task_page.case_record(db, instance_id).attachments,
        }


@blp.route("")
class Cases(MethodView):
    @blp.arguments(CaseQueryArgsSchema, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List cases with the case list's filters and paging (managers)."""
        if not is_manager(api_actor()):
            refuse(403)
        f = CaseFilter(**args, timezone=company_timezone())
        with engine().sessions() as db:
            page = list_cases(db, f)
        return {"items": page.rows, "total": page.total, "page": page.page, "per_page": page.per_page}

    @blp.arguments(StartCaseSchema)
    @blp.response(201, StartedCaseSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Start a case of the newest version, its data validated by the start form as on the page."""
        return engine().start(args["process_key"], args["data"], api_actor())


@blp.route("/<int:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseDetailSchema)
    def get(self, case_id: int) -> dict[str, Any]:
        """Show one case with its data, tasks, events and documents."""
        return case_answer(case_id)


def _operation(name: str, command: Callable[[int, Actor, str], None], summary: str) -> None:
    class Operation(MethodView):
        @blp.arguments(ReasonSchema)
        @blp.response(200, CaseDetailSchema)
        def post(self, args: dict[str, Any], case_id: int) -> dict[str, Any]:
            case_answer(case_id)
            if not is_manager(api_actor()):
                refuse(403)
            command(case_id, api_actor(), args["reason"])
            return case_answer(case_id)

    Operation.post.__doc__ = summary
    Operation.__name__ = f"Case{name.title()}"
    blp.route(f"/<int:case_id>/{name}")(Operation)


def _register_operations() -> None:
    runtime = engine
    _operation(
        "suspend", lambda i, a, r: runtime().suspend(i, a, r), "Suspend a running case, with a reason."
    )
    _operation("resume", lambda i, a, r: runtime().resume(i, a, r), "Resume a suspended case, with a reason.")
    _operation(
        "terminate", lambda i, a, r: runtime().terminate(i, a, r), "Terminate a case for good, with a reason."
    )
    _operation("retry", lambda i, a, r: runtime().retry(i, a, r), "Run a case in error again, with a reason.")


_register_operations()
