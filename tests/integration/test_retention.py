"""Retention on a frozen clock: due only after its period, never under a legal hold, purged with a tombstone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from engine import clock
from engine.audit.verify import verify
from engine.records.issued_documents import issue_document
from engine.records.models import IssuedDocument, PurgeTombstone, RetentionPolicy
from engine.records.retention import (
    PolicyRule,
    RetentionRefused,
    purge_case,
    release_holds,
    retention_report,
    rules,
    seed_rules,
    set_hold,
    set_rule,
    verify_tombstones,
)
from engine.runtime import Engine
from engine.store.models import Event, ProcessInstance, Task
from processes.records.retention_rules import default_rules, product_expiry
from tests.conftest import COMPLAINT_RECEIVED, actor

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "test-secret-key"
SALES = actor("sales1", "sales")
SUPERVISOR = actor("sup1", "service_supervisor")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def ended_complaint(engine: Engine) -> str:
    """A complaint received on 2026-01-10 and ended (terminated) on 2026-01-12, with one document."""
    clock.freeze(at(2026, 1, 10, 9))
    started = engine.start("complaint", COMPLAINT_RECEIVED, SALES)
    clock.freeze(at(2026, 1, 12, 10))
    engine.terminate(started.id, SUPERVISOR, "客户撤回投诉")
    with engine.writer.begin() as session:
        instance = session.get(ProcessInstance, started.id)
        assert instance is not None
        issue_document(
            session,
            instance,
            "complaint_form",
            "客户抱怨处理表",
            lambda n, v, t: b"%PDF-1.4 " + n.encode(),
            "qa1",
            SHANGHAI,
        )
        seed_rules(session, default_rules())
        return instance.business_number


def due_numbers(engine: Engine) -> list[str]:
    with engine.sessions() as session:
        return [item.business_number for item in retention_report(session, product_expiry, SHANGHAI)]


def test_the_seed_defaults_fill_the_policy_table_once_and_an_edit_is_kept(deployed: Engine) -> None:
    with deployed.writer.begin() as session:
        assert seed_rules(session, default_rules()) == len(default_rules())
        set_rule(session, PolicyRule("case", "complaint", 4, 1, "公司规定"), "admin")
        assert seed_rules(session, default_rules()) == 0
    with deployed.sessions() as session:
        kept = {(r.record_kind, r.process_key): (r.years, r.years_past_expiry) for r in rules(session)}
        audit = session.scalar(select(Event).where(Event.action == "retention_rule_set"))
    assert kept[("case", "complaint")] == (4, 1)
    assert kept[("case", "repair_service")] == (5, 1), "001 第十四条: a year past the device's expiry"
    assert kept[("case", "")] == (3, None), "004 3.13: 3-5 years"
    assert audit is not None and audit.data["before"] == {"years": 5, "years_past_expiry": 1}


def test_a_policy_outside_its_bounds_is_refused_and_nothing_changes(deployed: Engine) -> None:
    with deployed.writer.begin() as session:
        seed_rules(session, default_rules())
    for bad in (PolicyRule("case", "complaint", 0), PolicyRule("paper", "", 5)):
        with pytest.raises(RetentionRefused), deployed.writer.begin() as session:
            set_rule(session, bad, "admin")
    with deployed.sessions() as session:
        years = session.scalar(
            select(RetentionPolicy.years).where(
                RetentionPolicy.record_kind == "case", RetentionPolicy.process_key == "complaint"
            )
        )
    assert years == 5


def test_a_case_is_due_only_after_its_period_and_never_under_a_legal_hold(deployed: Engine) -> None:
    number = ended_complaint(deployed)
    clock.freeze(at(2031, 1, 11, 12))  # four days short of five years after the end and the document
    assert number not in due_numbers(deployed)
    with pytest.raises(RetentionRefused) as refused, deployed.writer.begin() as session:
        purge_case(session, number, "admin", SECRET, product_expiry, SHANGHAI)
    assert refused.value.reason == "not_due"

    clock.freeze(at(2031, 1, 13, 12))
    assert number in due_numbers(deployed)
    with deployed.writer.begin() as session:
        set_hold(session, number, "药监局检查调阅", "qa1")
    assert number not in due_numbers(deployed)
    with pytest.raises(RetentionRefused) as refused, deployed.writer.begin() as session:
        purge_case(session, number, "admin", SECRET, product_expiry, SHANGHAI)
    assert refused.value.reason == "held"
    with pytest.raises(RetentionRefused), deployed.writer.begin() as session:
        release_holds(session, number, "  ", "qa1")
    with deployed.writer.begin() as session:
        assert release_holds(session, number, "检查结束", "qa1") == 1
    assert number in due_numbers(deployed)
    with deployed.sessions() as session:
        actions = session.scalars(
            select(Event.action).where(Event.action.in_(("legal_hold_set", "legal_hold_released")))
        ).all()
    assert sorted(actions) == ["legal_hold_released", "legal_hold_set"]


def test_a_product_expiry_keeps_a_device_case_a_year_past_it(deployed: Engine) -> None:
    number = ended_complaint(deployed)
    expires = lambda _session, _instance: date(2035, 6, 30)  # noqa: E731
    with deployed.sessions() as session:
        clock.freeze(at(2031, 2, 1))
        assert retention_report(session, expires, SHANGHAI) == []
        clock.freeze(at(2036, 6, 29))
        assert retention_report(session, expires, SHANGHAI) == []
        clock.freeze(at(2036, 7, 1))
        (item,) = retention_report(session, expires, SHANGHAI)
    assert item.business_number == number
    assert item.keep_until is not None and item.keep_until.date() == date(2036, 6, 30)


def test_a_purge_removes_the_case_and_keeps_a_signed_tombstone_that_verifies(deployed: Engine) -> None:
    number = ended_complaint(deployed)
    with deployed.sessions() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_number == number)
        )
        document_hash = session.scalar(
            select(IssuedDocument.sha256).where(IssuedDocument.instance_id == instance_id)
        )
    clock.freeze(at(2031, 2, 1))
    with deployed.writer.begin() as session:
        tombstone = purge_case(session, number, "admin", SECRET, product_expiry, SHANGHAI)
    with deployed.sessions() as session:
        assert session.get(ProcessInstance, instance_id) is None
        for model in (Task, Event, IssuedDocument):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.instance_id == instance_id)
            )
            assert left == 0, model
        purged = session.scalar(select(Event).where(Event.action == "case_purged"))
        assert purged is not None and purged.data["business_number"] == number and purged.actor == "admin"
        kept = session.get(PurgeTombstone, tombstone.id)
        assert kept is not None
        assert kept.summary["documents"][0][3] == document_hash
        assert kept.summary["events"] > 0 and len(kept.summary["events_sha256"]) == 64
        assert verify_tombstones(session, SECRET) == (1, [])
        assert verify(session) == [], "the purged case's chain ends with it: the audit trail stays intact"
        assert kept.summary["last_event"]["hash"] and kept.summary["day_heads"]
        assert verify_tombstones(session, "another key") == (1, [number])
    # Rewriting what the tombstone says is found.
    with deployed.writer.begin() as session:
        session.execute(
            text("UPDATE purge_tombstone SET purged_by = 'nobody' WHERE id = :i"), {"i": tombstone.id}
        )
    with deployed.sessions() as session:
        assert verify_tombstones(session, SECRET) == (1, [number])


def test_an_open_case_is_never_due(deployed: Engine) -> None:
    clock.freeze(at(2026, 1, 10, 9))
    started = deployed.start("complaint", COMPLAINT_RECEIVED, SALES)
    with deployed.writer.begin() as session:
        seed_rules(session, default_rules())
    clock.freeze(at(2040, 1, 1))
    assert due_numbers(deployed) == []
    with pytest.raises(RetentionRefused) as refused, deployed.writer.begin() as session:
        purge_case(session, started.business_number, "admin", SECRET, product_expiry, SHANGHAI)
    assert refused.value.reason == "open"
