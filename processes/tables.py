"""Every table the domain adds to the engine's, imported so that they are all on ``Base.metadata``."""

from __future__ import annotations

from engine.store import models as engine_models
from processes.kpis import models as kpi_models
from processes.notifications import models as notification_models
from processes.portal import models as portal_models
from processes.records import models as record_models

MODULES = (engine_models, kpi_models, notification_models, portal_models, record_models)
