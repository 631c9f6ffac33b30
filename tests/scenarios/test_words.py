"""The seeds' words, on the deployed diagrams and forms.

- 重点客户 is a class of customer kept in the customer archive (or ticked at registration when
  the customer is not in the archive), not an urgency [001 4.1]: the response row of key
  customers applies to a normal request of a key customer.
- 被动召回 stands beside 责令召回 for a recall ordered by the regulator [002 执行药品召回 召回类型].
- The fourth rating criterion is 「答应事情的办理」, never 「信守承诺」 [001 客户意见 4].
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.definitions.forms.model import FormDefinition
from engine.runtime import Engine
from processes.records.models import Customer
from tests.conftest import diagram_files
from tests.scenarios.conftest import REPAIR_REQUEST, add_product, as_user, case_data, open_task
from tests.scenarios.test_seed_rules import edited_policy

CS = as_user("cs1")


def latest_form(engine: Engine, process_key: str, form_key: str) -> FormDefinition:
    with engine.sessions() as session:
        definition = engine.latest_definition(session, process_key)
    return engine.form_of(definition, form_key)


def mark_key_customer(engine: Engine, name: str) -> None:
    with engine.writer.begin() as session:
        customer = session.scalar(select(Customer).where(Customer.name == name))
        assert customer is not None
        customer.key_customer = True


def test_a_key_customer_is_a_class_of_customer_from_the_archive_not_an_urgency(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # Monday 2026-11-23 09:00
    # The process owner makes key customers' response 2 working hours; the default stays 4.
    engine.deploy(edited_policy("rule_repair_response_key_customer_amount", "2"), deployed_by="owner1")
    add_product(engine, "SN-KEY-1", customer_name="华东人民医院")
    mark_key_customer(engine, "华东人民医院")
    add_product(engine, "SN-PLAIN-1", customer_name="普通诊所")

    urgency = next(
        f for f in latest_form(engine, "repair_service", "repair_register").data_fields if f.key == "urgency"
    )
    assert [value for value, _zh, _en in urgency.options] == ["emergency", "normal"]

    # Not ticked at registration: the archive's class wins.
    key = engine.start("repair_service", {**REPAIR_REQUEST, "serial_number": "SN-KEY-1"}, CS).id
    plain = engine.start(
        "repair_service",
        {**REPAIR_REQUEST, "serial_number": "SN-PLAIN-1", "customer_name": "普通诊所"},
        CS,
    ).id
    # Not in the archive: the registration's tick says the class.
    ticked = engine.start(
        "repair_service", {**REPAIR_REQUEST, "serial_number": "SN-NEW-9", "key_customer": True}, CS
    ).id
    due = {case: open_task(engine, case, "task_remote_guidance").due_at for case in (key, plain, ticked)}
    assert due[plain] - due[key] == timedelta(hours=2)
    assert due[ticked] == due[key]
    assert (case_data(engine, key)["key_customer"], case_data(engine, key)["urgency"]) == (True, "normal")
    assert case_data(engine, plain)["key_customer"] is False


def test_a_recall_ordered_by_the_regulator_is_called_passive_beside_ordered(scenario_engine: Engine) -> None:
    form = latest_form(scenario_engine, "recall", "recall_open")
    recall_type = next(f for f in form.data_fields if f.key == "recall_type")
    labels = {value: label_zh for value, label_zh, _en in recall_type.options}
    assert "主动召回" in labels["voluntary"]
    assert "被动召回" in labels["ordered"] and "责令召回" in labels["ordered"]


def test_the_fourth_rating_criterion_is_handling_what_was_promised() -> None:
    files = diagram_files()
    assert not [name for name, text in files.items() if "信守承诺" in text]
    assert "答应事情的办理" in files["repair_follow_up.form.json"]
