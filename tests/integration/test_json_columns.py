"""JSON columns are kept as compact UTF-8 text: Chinese as it is (not ``\\u`` escapes), no padding.

A database reader (an inspector's query, ``psql``, a backup) sees the text people entered, the
rows take less room, and the values read back through the engine unchanged.
"""

from __future__ import annotations

import json

from sqlalchemy import select, text

from engine.runtime import Engine
from engine.store.database import compact_json
from engine.store.models import Event, ProcessInstance
from tests.scenarios.conftest import REPAIR_REQUEST
from tests.scenarios.test_repair import register


def raw_json(engine: Engine, sql: str, case: int) -> str:
    with engine.db.connect() as conn:
        return str(conn.execute(text(sql), {"case": case}).scalar_one())


def test_a_case_s_event_data_and_facts_are_stored_as_written(scenario_engine: Engine) -> None:
    case = register(scenario_engine)
    started = raw_json(
        scenario_engine,
        "SELECT CAST(data AS TEXT) FROM event WHERE instance_id = :case AND action = 'instance_started'",
        case,
    )
    facts = raw_json(
        scenario_engine, "SELECT CAST(facts AS TEXT) FROM process_instance WHERE id = :case", case
    )
    for stored in (started, facts):
        assert "华东人民医院" in stored
        assert "\\u" not in stored
        assert stored == compact_json(json.loads(stored))
    with scenario_engine.sessions() as session:
        data = session.scalar(
            select(Event.data).where(Event.instance_id == case, Event.action == "instance_started")
        )
        kept = session.scalar(select(ProcessInstance.facts).where(ProcessInstance.id == case))
    assert data is not None and kept is not None
    assert data["data"]["customer_name"] == REPAIR_REQUEST["customer_name"]
    assert data["data"]["fault_description"] == REPAIR_REQUEST["fault_description"]
    assert kept["data"]["customer_address"] == REPAIR_REQUEST["customer_address"]


def test_compact_json_keeps_every_character_and_drops_only_spaces() -> None:
    value = {"名称": "上海市徐汇区 1 号", "n": [1, 2.5, None, True], "nested": {"a": '\u2028"q"'}}
    written = compact_json(value)
    assert written == '{"名称":"上海市徐汇区 1 号","n":[1,2.5,null,true],"nested":{"a":"\u2028\\"q\\""}}'
    assert json.loads(written) == value
