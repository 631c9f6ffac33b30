"""Process definitions: the newest version of each process, its versions, and a version's files."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from engine.store import queries
from engine.store.models import ProcessDefinition
from web.api.auth import api_actor, api_blueprint
from web.api.errors import refuse
from web.api.schemas import DefinitionSchema, FileSchema
from web.auth import engine
from web.modeler import OWNER_ROLES

blp = api_blueprint(
    "api_definitions", "/api/v1/process-definitions", "Deployed processes and their versions."
)


def _described(definitions: list[ProcessDefinition]) -> list[dict[str, Any]]:
    startable = {d.id for d in engine().startable_definitions(api_actor())}
    return [
        {
            **{name: getattr(d, name) for name in DefinitionSchema().fields if hasattr(d, name)},
            "startable": d.id in startable,
        }
        for d in definitions
    ]


@blp.route("")
class Definitions(MethodView):
    @blp.response(200, DefinitionSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List the newest version of every deployed process, saying which the caller may start."""
        with engine().sessions() as db:
            return _described(engine().latest_definitions(db))


def _versions(process_key: str) -> list[ProcessDefinition]:
    if "\x00" in process_key or len(process_key) > 128:
        refuse(404)
    with engine().sessions() as db:
        versions = list(
            db.scalars(
                select(ProcessDefinition)
                .where(ProcessDefinition.process_key == process_key)
                .order_by(ProcessDefinition.version.desc())
            )
        )
    if not versions:
        refuse(404)
    return versions


@blp.route("/<process_key>/versions")
class DefinitionVersions(MethodView):
    @blp.response(200, DefinitionSchema(many=True))
    def get(self, process_key: str) -> list[dict[str, Any]]:
        """List every deployed version of a process, newest first."""
        return _described(_versions(process_key))


@blp.route("/<process_key>/versions/<int:version>/files")
class DefinitionFiles(MethodView):
    @blp.response(200, FileSchema(many=True))
    def get(self, process_key: str, version: int) -> list[dict[str, str]]:
        """Return the BPMN, DMN and form files of one version (process owners, as in the modeler)."""
        if not OWNER_ROLES & api_actor().roles:
            refuse(403)
        chosen = next((d for d in _versions(process_key) if d.version == version), None)
        if chosen is None:
            refuse(404)
        with engine().sessions() as db:
            files = queries.definition_files(db, chosen.id)  # the sources are loaded only here
        return [{"name": name, "content": text} for name, text in sorted(files.items())]
