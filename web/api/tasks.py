"""Tasks: the caller's inbox tabs, one task, and the commands on it (claim, assign, complete, draft)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from engine import clock
from engine.errors import NotFound
from engine.store import queries
from engine.store.models import Task
from web.api.auth import api_actor, api_blueprint
from web.api.errors import api_language, refuse
from web.api.schemas import (
    AssignSchema,
    FormDataSchema,
    TaskCompletionSchema,
    TaskPageSchema,
    TaskQueryArgsSchema,
    TaskSchema,
)
from web.auth import engine
from web.inbox import overseers, sees_all, visible_tabs

blp = api_blueprint("api_tasks", "/api/v1/tasks", "Human tasks: list, claim, assign, complete.")


def task_dict(task: Task) -> dict[str, Any]:
    """Return a stored task with its case's list fields, for TaskSchema."""
    instance = task.instance
    return {
        **{c: getattr(task, c) for c in TaskSchema().fields if hasattr(task, c)},
        "instance_id": task.instance_id,
        "business_number": instance.business_number,
        "process_key": instance.process_key,
        "customer_name": instance.customer_name,
        "priority": instance.priority,
    }


def visible_task(task_id: str) -> Task:
    """Return the task if the caller may see it (404 / 403 otherwise, as on the task page)."""
    if "\x00" in task_id or len(task_id) > 36:  # no task has such an id (and PostgreSQL refuses NUL)
        refuse(404)
    with engine().sessions() as db:
        try:
            task = queries.task_for(db, task_id)
        except NotFound:
            refuse(404)
        if not queries.may_see_task(task, api_actor(), overseers()):
            refuse(403)
        return task


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQueryArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List one inbox tab of the caller's tasks, filtered and paged as in the inbox."""
        actor = api_actor()
        everything = sees_all(actor)
        if args["tab"] not in visible_tabs(everything):
            refuse(403)
        query = queries.InboxQuery(
            tab=args["tab"],
            process=args.get("process"),
            step=args.get("step"),
            priority=args.get("urgency"),
            overdue=args["overdue"],
            search=args["q"],
            order=args.get("order", ""),
            page=args["page"],
            per_page=args["per_page"],
        ).normalized()
        with engine().sessions() as db:
            page = queries.inbox(db, actor, query, clock.now(), everything)
        return {"items": page.rows, "total": page.total, "page": query.page, "per_page": query.per_page}


@blp.route("/<task_id>")
class TaskItem(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, task_id: str) -> dict[str, Any]:
        """Show one task."""
        return task_dict(visible_task(task_id))


def _answer(task_id: str) -> dict[str, Any]:
    with engine().sessions() as db:
        return task_dict(queries.task_for(db, task_id))


@blp.route("/<task_id>/claim")
class TaskClaim(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id: str) -> dict[str, Any]:
        """Claim an offered task."""
        visible_task(task_id)
        engine().claim(task_id, api_actor())
        return _answer(task_id)


@blp.route("/<task_id>/unclaim")
class TaskUnclaim(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id: str) -> dict[str, Any]:
        """Give a claimed task back to its role (its holder, or a supervisor)."""
        visible_task(task_id)
        engine().unclaim(task_id, api_actor())
        return _answer(task_id)


@blp.route("/<task_id>/assign")
class TaskAssign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, TaskSchema)
    def post(self, args: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Assign a task to a user holding its role (supervisors)."""
        task = visible_task(task_id)
        actor = api_actor()
        if not actor.roles & engine().config.assigner_roles:
            refuse(403)
        if task.role:
            with engine().sessions() as db:
                holders = dict(queries.users_holding(db, task.role))
            if args["assignee"] not in holders:
                from flask_babel import gettext as _

                api_language()
                refuse(
                    422,
                    code="not_role_holder",
                    message=_("%(user)s does not hold the role this task needs.", user=args["assignee"]),
                )
        engine().assign(task_id, args["assignee"], actor)
        return _answer(task_id)


@blp.route("/<task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(TaskCompletionSchema)
    @blp.response(200, TaskSchema)
    def post(self, args: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Complete a task with its form's data, validated as the task page validates it."""
        visible_task(task_id)
        engine().complete(task_id, args["data"], api_actor(), password=args["password"])
        return _answer(task_id)


@blp.route("/<task_id>/draft")
class TaskDraft(MethodView):
    @blp.arguments(FormDataSchema)
    @blp.response(200, TaskSchema)
    def put(self, args: dict[str, Any], task_id: str) -> dict[str, Any]:
        """Keep unfinished form data on the task without completing it."""
        visible_task(task_id)
        engine().save_draft(task_id, args["data"], api_actor())
        return _answer(task_id)
