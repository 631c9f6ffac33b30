"""The process labels the pages show are read once per deployment and kept per engine."""

from __future__ import annotations

import gc

from sqlalchemy import Engine as SqlEngine

from engine.runtime import Engine
from processes.wiring import build_engine
from web import catalogue


def test_labels_are_read_once_per_deployment_and_go_with_their_engine(
    deployed: Engine, db: SqlEngine
) -> None:
    with deployed.sessions() as session:
        first = catalogue.labels(deployed, session)
        assert first.process("repair_service") != "repair_service"  # the diagram's own name
        assert catalogue.labels(deployed, session) is first
    gc.collect()  # the engines of tests before this one, gone now, leave the count here
    kept = len(catalogue._cache)

    other = build_engine(db)
    with other.sessions() as session:
        assert catalogue.labels(other, session).process("repair_service") == first.process("repair_service")
    assert len(catalogue._cache) == kept + 1
    del other
    gc.collect()
    # Nothing is left for a freed engine that another, made later at its address, could be given.
    assert len(catalogue._cache) == kept
    with deployed.sessions() as session:
        assert catalogue.labels(deployed, session) is first
