"""Messages: deliver a message (a customer's reply, a supplier's answer) to a case waiting for it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from web.api.auth import api_actor, api_blueprint
from web.api.cases import case_answer
from web.api.schemas import CaseDetailSchema, MessageSchema
from web.auth import engine

blp = api_blueprint("api_messages", "/api/v1/cases", "Messages to cases waiting for them.")


@blp.route("/<int:case_id>/messages")
class CaseMessages(MethodView):
    @blp.arguments(MessageSchema)
    @blp.response(200, CaseDetailSchema)
    def post(self, args: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Deliver a message to a case waiting for it; the case moves on."""
        case_answer(case_id)
        engine().send_message(case_id, args["name"], args["payload"], api_actor())
        return case_answer(case_id)
