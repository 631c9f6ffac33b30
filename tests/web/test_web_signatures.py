"""Signatures over HTTP: the customer's drawn signature (or refusal) and the approver's re-entered password."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine import clock
from engine.accounts.users import Actor, create_user, verify_password
from engine.audit.verify import verify
from engine.errors import SignatureNotGiven
from engine.runtime import Engine
from engine.signatures.records import signatures_of_case
from engine.signatures.tables import Signature
from engine.store.models import Event, ProcessInstance, Task
from processes.demo.signatures import scribble_png, signed_by
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.api_client import Api
from tests.web.conftest import Web, case_day, closing_steps

TECH1 = Actor("tech1", frozenset({"technician"}))
ON_SITE = {"outcome": "fixed_on_site", "work_done": "更换电源板", "hours_spent": "2"}


def repair_at_work(web: Web) -> tuple[str, str]:
    """A repair case waiting for the technician's 现场维修; its number and the task id."""
    number, arrival = web.repair_at_arrival()
    arrived = (
        clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    )  # not before the call
    web.engine.complete(arrival.id, {"arrived_at": arrived, "fault_level": "minor"}, TECH1)
    return number, web.open_task(number, "task_repair").id


def posted_signature(**parts: str) -> dict[str, str]:
    return {f"customer_signature__{key}": value for key, value in parts.items()}


def instance_id_of(web: Web, number: str) -> int:
    with web.engine.sessions() as session:
        found = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_number == number))
    assert found is not None
    return found


def test_the_repair_cannot_complete_until_the_customer_signs(web: Web) -> None:
    web.freeze()
    number, task_id = repair_at_work(web)
    tech = web.client("tech1")
    page = tech.get(f"/tasks/{task_id}").text
    assert 'data-signature-field="customer_signature"' in page and "signature_pad.umd.min.js" in page
    unsigned = tech.post(f"/tasks/{task_id}", data={**ON_SITE, "action": "complete"})
    assert unsigned.status_code == 422
    assert 'id="field-customer_signature-error"' in unsigned.text
    assert web.open_task(number, "task_repair").id == task_id
    signed = signed_by("王建国")
    done = tech.post(
        f"/tasks/{task_id}",
        data={**ON_SITE, **posted_signature(image=signed["image"], name="王建国"), "action": "complete"},
    )
    assert done.status_code == 302, done.text
    with web.engine.sessions() as session:
        (kept,) = signatures_of_case(session, instance_id_of(web, number))
        row = session.get(Signature, kept.id)
        assert row is not None and row.image == scribble_png()
        data = session.scalars(
            select(Event.data).where(Event.action == "task_completed", Event.task_id == task_id)
        ).one()
        assert verify(session) == []
    assert (kept.kind, kept.signer_name, kept.collected_by, kept.refused) == (
        "customer",
        "王建国",
        "tech1",
        False,
    )
    assert row.signed_data["case"] == number and row.signed_data["values"]["work_done"] == "更换电源板"
    assert len(kept.sha256) == 64 and kept.sha256 != hashlib.sha256(scribble_png()).hexdigest()
    # The case data keeps a reference, never the picture.
    assert data["data"]["customer_signature"]["signature_id"] == kept.id
    assert "image" not in data["data"]["customer_signature"]


def test_a_refusal_needs_a_reason_and_is_kept_as_refused(web: Web) -> None:
    web.freeze()
    number, task_id = repair_at_work(web)
    tech = web.client("tech1")
    no_reason = tech.post(
        f"/tasks/{task_id}", data={**ON_SITE, **posted_signature(refused="on"), "action": "complete"}
    )
    assert no_reason.status_code == 422
    assert (
        "请填写客户拒签的原因" in no_reason.text and 'id="field-customer_signature-error"' in no_reason.text
    )
    refused = tech.post(
        f"/tasks/{task_id}",
        data={
            **ON_SITE,
            **posted_signature(refused="on", reason="客户不在现场，由门卫代收"),
            "action": "complete",
        },
    )
    assert refused.status_code == 302
    with web.engine.sessions() as session:
        (kept,) = signatures_of_case(session, instance_id_of(web, number))
    assert kept.refused and kept.refusal_reason == "客户不在现场，由门卫代收" and not kept.has_image


def test_a_forged_or_oversized_image_gets_a_clear_message_and_changes_nothing(web: Web) -> None:
    web.freeze()
    number, task_id = repair_at_work(web)
    tech = web.client("tech1")
    not_png = "data:image/png;base64," + base64.b64encode(b"<svg onload=alert(1)>").decode()
    huge = "data:image/png;base64," + base64.b64encode(scribble_png()[:-12] + b"\0" * 300_000).decode()
    for image, message in [
        ("javascript:alert(1)", "签名图像无效"),
        ("data:image/png;base64,@@@", "签名图像无效"),
        (not_png, "签名图像无效"),
        (huge, "签名图像过大"),
    ]:
        answer = tech.post(
            f"/tasks/{task_id}",
            data={**ON_SITE, **posted_signature(image=image, name="王建国"), "action": "complete"},
        )
        assert answer.status_code == 422, image[:40]
        assert message in answer.text
    nameless = tech.post(
        f"/tasks/{task_id}",
        data={**ON_SITE, **posted_signature(image=signed_by("x")["image"]), "action": "complete"},
    )
    assert nameless.status_code == 422 and "请填写签字人姓名" in nameless.text
    with web.engine.sessions() as session:
        assert signatures_of_case(session, instance_id_of(web, number)) == []
    assert web.open_task(number, "task_repair").id == task_id


def complaint_at_approval(web: Web) -> tuple[str, str]:
    """A complaint waiting for the general manager's approval; its number and the task id."""
    sales = Actor("sales1", frozenset({"sales"}))
    number = web.engine.start("complaint", COMPLAINT_RECEIVED, sales).business_number
    assert number is not None
    for spec_id, username, role, data in closing_steps(case_day(web, number)):
        if spec_id == "task_gm_approval":
            break
        web.engine.complete(web.open_task(number, spec_id).id, data, Actor(username, frozenset({role})))
    return number, web.open_task(number, "task_gm_approval").id


APPROVAL = {"approval_decision": "approve", "approved_disposition": "更换整机", "action": "complete"}


def test_an_approval_is_refused_without_the_password_and_signed_with_it(web: Web) -> None:
    web.freeze()
    with web.engine.writer.begin() as session:
        create_user(session, "gm1", DEMO_PASSWORD, ("general_manager",), ROLE_KEYS, "卫总")
    number, task_id = complaint_at_approval(web)
    gm = web.client("gm1")
    page = gm.get(f"/tasks/{task_id}").text
    assert 'id="signature-password"' in page and "批准" in page
    missing = gm.post(f"/tasks/{task_id}", data=APPROVAL)
    assert missing.status_code == 422 and "未保存任何内容" in missing.text
    wrong = gm.post(f"/tasks/{task_id}", data={**APPROVAL, "signature_password": "not-my-password"})
    assert wrong.status_code == 422 and "密码不正确" in wrong.text
    assert web.open_task(number, "task_gm_approval").id == task_id
    with web.engine.sessions() as session:
        assert signatures_of_case(session, instance_id_of(web, number)) == []
    signed = gm.post(f"/tasks/{task_id}", data={**APPROVAL, "signature_password": DEMO_PASSWORD})
    assert signed.status_code == 302, signed.text
    with web.engine.sessions() as session:
        (kept,) = signatures_of_case(session, instance_id_of(web, number))
        completed = session.scalars(
            select(Event.data).where(Event.action == "task_completed", Event.task_id == task_id)
        ).one()
        assert verify(session) == []
    assert (kept.kind, kept.meaning, kept.signer_username) == ("approval", "批准", "gm1")
    assert "signature_password" not in completed["data"] and DEMO_PASSWORD not in str(completed)
    # The case page shows the signature's meaning, the signer and its hash.
    case_page = web.client("sup1").get(f"/manage/cases/{instance_id_of(web, number)}").text
    assert "批准" in case_page and kept.sha256[:12] in case_page


def test_an_altered_signature_is_found_by_verify(web: Web) -> None:
    web.freeze()
    number, task_id = repair_at_work(web)
    web.engine.complete(task_id, {**ON_SITE, "customer_signature": signed_by("王建国")}, TECH1)
    with web.engine.db.begin() as conn:
        conn.execute(Signature.__table__.update().values(signer_name="李四"))
    with web.engine.sessions() as session:
        (found,) = verify(session)
    assert found.kind == "signature" and found.case == number and "altered" in found.what


def test_an_approval_over_the_api_needs_the_password_too(web: Web, api: Api) -> None:
    web.freeze()
    with web.engine.writer.begin() as session:
        create_user(session, "gm1", DEMO_PASSWORD, ("general_manager",), ROLE_KEYS, "卫总")
    number, task_id = complaint_at_approval(web)
    headers = api.headers(api.token("gm1"), lang="en")
    body = {"data": {"approval_decision": "approve", "approved_disposition": "更换整机"}}
    refused = api.client.post(f"/api/v1/tasks/{task_id}/complete", json=body, headers=headers)
    assert refused.status_code == 422 and "re-enter your password" in refused.get_data(as_text=True)
    signed = api.client.post(
        f"/api/v1/tasks/{task_id}/complete", json={**body, "password": DEMO_PASSWORD}, headers=headers
    )
    assert signed.status_code == 200 and signed.json["state"] == "completed"
    with web.engine.sessions() as session:
        (kept,) = signatures_of_case(session, instance_id_of(web, number))
    assert (kept.meaning, kept.signer_username) == ("批准", "gm1")


def case_lock_is_free(db: SqlEngine, instance_id: int) -> bool:
    """Whether another connection could lock the case now (on SQLite: take the write lock)."""
    if db.dialect.name == "sqlite":
        other = sqlite3.connect(str(db.url.database), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()
    with db.connect() as conn:
        try:
            conn.execute(
                text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE NOWAIT"), {"id": instance_id}
            )
            return True
        except OperationalError:
            return False
        finally:
            conn.rollback()


def test_the_signing_password_is_checked_before_the_case_is_locked(web: Web) -> None:
    """The password's hash takes tens of milliseconds: no other writer waits for it."""
    web.freeze()
    with web.engine.writer.begin() as session:
        create_user(session, "gm1", DEMO_PASSWORD, ("general_manager",), ROLE_KEYS, "卫总")
    number, task_id = complaint_at_approval(web)
    case = instance_id_of(web, number)
    lock_free: list[bool] = []

    def matches(password: str, stored: str) -> bool:
        lock_free.append(case_lock_is_free(web.engine.db, case))
        return verify_password(password, stored)

    engine = Engine(web.engine.db, replace(web.engine.config, password_matches=matches))
    gm = Actor("gm1", frozenset({"general_manager"}))
    approval = {key: value for key, value in APPROVAL.items() if key != "action"}
    with pytest.raises(SignatureNotGiven):
        engine.complete(task_id, approval, gm, "not-my-password")
    engine.complete(task_id, approval, gm, DEMO_PASSWORD)
    assert lock_free == [True, True]  # one check per completion, each with the case free
    with web.engine.sessions() as session:
        (kept,) = signatures_of_case(session, case)
    assert (kept.kind, kept.signer_username) == ("approval", "gm1")


def test_a_password_given_for_a_step_that_is_not_signed_is_not_checked(web: Web) -> None:
    web.freeze()
    sales = Actor("sales1", frozenset({"sales"}))
    number = web.engine.start("complaint", COMPLAINT_RECEIVED, sales).business_number
    assert number is not None
    spec_id, username, role, data = next(iter(closing_steps(case_day(web, number))))
    with web.engine.writer.begin() as session:  # the worker has a password that would match
        create_user(session, username, DEMO_PASSWORD, (role,), ROLE_KEYS, replace=True)
    checked: list[str] = []

    def matches(password: str, stored: str) -> bool:
        checked.append(password)
        return verify_password(password, stored)

    engine = Engine(web.engine.db, replace(web.engine.config, password_matches=matches))
    task_id = web.open_task(number, spec_id).id
    engine.complete(task_id, data, Actor(username, frozenset({role})), DEMO_PASSWORD)
    assert checked == []  # no scrypt for a password the step does not ask for
    with web.engine.sessions() as session:
        assert session.scalar(select(Task.state).where(Task.id == task_id)) == "completed"


def test_a_password_changed_while_signing_is_checked_again(web: Web) -> None:
    web.freeze()
    with web.engine.writer.begin() as session:
        create_user(session, "gm1", DEMO_PASSWORD, ("general_manager",), ROLE_KEYS, "卫总")
    number, task_id = complaint_at_approval(web)
    checks: list[bool] = []

    def matches(password: str, stored: str) -> bool:
        if not checks:  # between the early check and the command, the password is changed
            with web.engine.writer.begin() as session:
                create_user(
                    session, "gm1", "a-new-password-9", ("general_manager",), ROLE_KEYS, "卫总", replace=True
                )
        checks.append(verify_password(password, stored))
        return checks[-1]

    engine = Engine(web.engine.db, replace(web.engine.config, password_matches=matches))
    approval = {key: value for key, value in APPROVAL.items() if key != "action"}
    with pytest.raises(SignatureNotGiven):
        engine.complete(task_id, approval, Actor("gm1", frozenset({"general_manager"})), DEMO_PASSWORD)
    assert checks == [True, False]  # the old password matched the old hash, not the new one
    assert web.open_task(number, "task_gm_approval").id == task_id
