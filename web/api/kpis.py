"""KPIs: the dashboard's figures as JSON (managers, as the dashboard)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from processes.kpis.dashboard import KPI_NAMES, Ratio, current_dashboard
from web.api.auth import api_actor, api_blueprint
from web.api.errors import refuse
from web.auth import engine
from web.oversight import company_timezone

blp = api_blueprint("api_kpis", "/api/v1/kpis", "The KPI dashboard's figures.")


class RatioSchema(ma.Schema):
    """A share: hits over all, and the value (null when nothing was counted)."""

    hits = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    value = ma.fields.Float(allow_none=True)


class KpiSchema(ma.Schema):
    """One KPI overall and by month, process, technician and department, with its target."""

    name = ma.fields.String(required=True)
    target = ma.fields.Float(allow_none=True)
    overall = ma.fields.Nested(RatioSchema, required=True)
    by = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(RatioSchema)),
    )


class DashboardSchema(ma.Schema):
    """The KPI dashboard."""

    months = ma.fields.List(ma.fields.String(), required=True)
    kpis = ma.fields.List(ma.fields.Nested(KpiSchema), required=True)
    open_breaches_total = ma.fields.Integer(required=True)


def _ratio(ratio: Ratio) -> dict[str, Any]:
    return {"hits": ratio.hits, "total": ratio.total, "value": ratio.value}


@blp.route("")
class Kpis(MethodView):
    @blp.response(200, DashboardSchema)
    def get(self) -> dict[str, Any]:
        """Return every KPI with its breakdowns, as the dashboard shows them."""
        if not engine().config.manager_roles & api_actor().roles:
            refuse(403)
        board = current_dashboard(engine(), company_timezone())
        kpis = [
            {
                "name": name,
                "target": board.targets[name][0] if name in board.targets else None,
                "overall": _ratio(board.kpis[name].overall),
                "by": {
                    dimension: {key: _ratio(ratio) for key, ratio in values.items()}
                    for dimension, values in board.kpis[name].by.items()
                },
            }
            for name in KPI_NAMES
        ]
        return {"months": board.months, "kpis": kpis, "open_breaches_total": board.open_breaches_total}
