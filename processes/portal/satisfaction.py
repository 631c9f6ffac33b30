"""The satisfaction card a customer fills on the status page: it completes the case's follow-up step.

The card is the follow-up form's four criteria of seed 001 (服务态度、技术水平、到达时间、答应事情的办理,
each 非常满意 / 满意 / 一般 / 不满意) and the remarks; the follow-up step is completed with them as
customer service would, so an unsatisfied rating starts a complaint and the ratings reach the KPIs.
A follow-up customer service has already taken (they are calling the customer) stays theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from engine import clock
from engine.definitions.forms import FormDefinition, validate_submission
from engine.errors import EngineError, PermissionDenied, TaskNotAvailable
from engine.runtime import Engine
from engine.store.models import ProcessDefinition, ProcessInstance
from processes.kpis.facts import RATING_CRITERIA
from processes.portal.intake import PORTAL_ACTOR, open_step
from processes.portal.models import PortalRequest
from processes.portal.progress import FOLLOW_UP_STEP

CARD_FIELDS = (*RATING_CRITERIA, "suggestions")


class RatingClosed(EngineError):
    """The case is not waiting for the customer's rating (not finished yet, or already rated)."""

    code = "rating_closed"


def card_form(engine: Engine, request: PortalRequest) -> FormDefinition:
    """Return the open follow-up step's form narrowed to the satisfaction card; raise ``RatingClosed`` if none is open."""
    follow_up = open_step(engine, request.instance_id, FOLLOW_UP_STEP)
    if follow_up is None or not follow_up.form_key or follow_up.assignee is not None:
        raise RatingClosed("the case is not waiting for the customer's rating")
    with engine.sessions() as session:
        definition = session.scalars(
            select(ProcessDefinition)
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id == request.instance_id)
        ).one()
    form = engine.form_of(definition, follow_up.form_key)
    return replace(form, fields=tuple(f for f in form.fields if f.key in CARD_FIELDS))


def rate(engine: Engine, request: PortalRequest, data: Mapping[str, Any]) -> None:
    """Complete the case's follow-up step with the customer's card; raise ``FormInvalid`` or ``RatingClosed``."""
    clean = validate_submission(card_form(engine, request), data)
    follow_up = open_step(engine, request.instance_id, FOLLOW_UP_STEP)
    if follow_up is None or follow_up.assignee is not None:
        raise RatingClosed("the case is not waiting for the customer's rating")
    try:
        engine.complete(follow_up.id, {**clean, "has_complaint": False}, PORTAL_ACTOR)
    except (TaskNotAvailable, PermissionDenied) as error:  # customer service was quicker
        raise RatingClosed("the case is not waiting for the customer's rating") from error
    with engine.writer.begin() as session:
        session.execute(
            update(PortalRequest).where(PortalRequest.id == request.id).values(rated_at=clock.now())
        )
