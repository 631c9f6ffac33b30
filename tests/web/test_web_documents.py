"""A case's documents in the browser: issue, list with who and when, download as issued; templates edited as versions."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from engine.accounts.users import Actor, create_user
from engine.records.models import DocumentTemplate, IssuedDocument, LegalHold, RetentionPolicy
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.conftest import Web

SALES = Actor("sales1", frozenset({"sales"}))


def complaint(web: Web) -> tuple[int, str]:
    started = web.engine.start("complaint", COMPLAINT_RECEIVED, SALES)
    return started.id, started.business_number


def issued_count(web: Web) -> int:
    with web.engine.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(IssuedDocument)) or 0)


def test_a_supervisor_issues_the_complaint_form_and_downloads_it_as_issued(web: Web) -> None:
    instance_id, number = complaint(web)
    client = web.client("sup1")
    page = client.get(f"/cases/{instance_id}/documents")
    assert page.status_code == 200
    assert "客户抱怨处理表" in page.text and "内部文件：不得送交客户" in page.text
    assert "本案件尚未开具文件。" in page.text

    issued = client.post(f"/cases/{instance_id}/documents", data={"kind": "complaint_form", "subject": ""})
    assert issued.status_code == 302
    page = client.get(issued.location)
    with web.engine.sessions() as session:
        document = session.scalar(select(IssuedDocument).where(IssuedDocument.business_number == number))
        assert document is not None
        digest = document.sha256
    assert any(document.number in m and "已开具" in m for m in web.flashes(page.text))
    assert document.number in page.text and digest[:16] in page.text
    assert "李主任" in page.text  # who issued it, by name

    pdf = client.get(f"/documents/{document.number}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == digest
    assert pdf.headers["Content-Security-Policy"] == "sandbox"

    again = client.post(f"/cases/{instance_id}/documents", data={"kind": "complaint_form"})
    assert again.status_code == 302
    with web.engine.sessions() as session:
        versions = session.scalars(
            select(IssuedDocument.version)
            .where(IssuedDocument.business_number == number)
            .order_by(IssuedDocument.id)
        ).all()
    assert versions == [1, 2]


def test_a_document_the_case_is_not_ready_for_is_refused_with_a_message_and_nothing_issued(web: Web) -> None:
    instance_id, _ = complaint(web)
    client = web.client("sup1")
    for kind, message in (
        ("reply_letter", "案件尚未具备开具此文件所需的内容。"),
        ("service_voucher", "本案件没有这种文件。"),
    ):
        response = client.post(f"/cases/{instance_id}/documents", data={"kind": kind}, follow_redirects=True)
        assert message in web.flashes(response.text)
    assert issued_count(web) == 0


def test_someone_who_may_not_see_the_case_gets_neither_its_documents_nor_their_files(web: Web) -> None:
    instance_id, _ = complaint(web)
    issued = web.client("sup1").post(f"/cases/{instance_id}/documents", data={"kind": "complaint_form"})
    assert issued.status_code == 302
    with web.engine.sessions() as session:
        number = session.scalar(select(IssuedDocument.number))
    technician = web.client("tech1")
    assert technician.get(f"/cases/{instance_id}/documents").status_code == 403
    assert (
        technician.post(f"/cases/{instance_id}/documents", data={"kind": "complaint_form"}).status_code == 403
    )
    assert technician.get(f"/documents/{number}").status_code == 403
    assert web.client().get(f"/documents/{number}").status_code == 302  # to the login page
    assert issued_count(web) == 1


def test_a_process_owner_edits_a_template_in_the_browser_and_each_save_is_a_version(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ("process_owner",), ROLE_KEYS, "周流程")
    owner = web.client("owner1")
    library = owner.get("/modeler/documents/")
    assert library.status_code == 200 and "答复函" in library.text
    editor = owner.get("/modeler/documents/reply_letter")
    assert editor.status_code == 200 and "approved_disposition" in editor.text

    refused = owner.post(
        "/modeler/documents/reply_letter",
        data={"body": "{{ ''.__class__ }}", "summary": "x"},
        follow_redirects=True,
    )
    assert any("不允许" in m for m in web.flashes(refused.text))
    broken = owner.post("/modeler/documents/reply_letter", data={"body": "{% if %}"}, follow_redirects=True)
    assert any("第 1 行有错误" in m for m in web.flashes(broken.text))
    nested = "<table><tr><td>客户 <b>名称</b></td></tr></table>"
    unplaceable = owner.post("/modeler/documents/reply_letter", data={"body": nested}, follow_redirects=True)
    assert any("PDF 版式无法排版此模板" in m for m in web.flashes(unplaceable.text))

    saved = owner.post(
        "/modeler/documents/reply_letter",
        data={"body": "<h1>答复函</h1><p>{{ data.approved_disposition }}</p>", "summary": "简化"},
        follow_redirects=True,
    )
    assert "已保存为第 2 版。" in web.flashes(saved.text)
    with web.engine.sessions() as session:
        rows = session.execute(
            select(DocumentTemplate.version, DocumentTemplate.saved_by).where(
                DocumentTemplate.name == "reply_letter"
            )
        ).all()
    assert sorted(rows) == [(1, None), (2, "owner1")]
    assert web.client("sup1").get("/modeler/documents/").status_code == 403


def test_an_administrator_edits_retention_rules_and_sets_and_releases_a_legal_hold(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "admin1", DEMO_PASSWORD, ("admin",), ROLE_KEYS, "系统管理员")
    _, number = complaint(web)
    admin = web.client("admin1")
    page = admin.get("/admin/retention")
    assert page.status_code == 200 and "004 3.13" in page.text and "没有处于法律保全中的案件。" in page.text

    bad = admin.post(
        "/admin/retention/rules",
        data={"record_kind": "case", "process_key": "complaint", "years": "0"},
        follow_redirects=True,
    )
    assert "保存年限须在 1 到 100 年之间（有效期后 0 到 100 年）。" in web.flashes(bad.text)
    good = admin.post(
        "/admin/retention/rules",
        data={"record_kind": "case", "process_key": "complaint", "years": "4", "years_past_expiry": "1"},
        follow_redirects=True,
    )
    assert "保存规则已保存。" in web.flashes(good.text)
    with web.engine.sessions() as session:
        kept = session.scalar(
            select(RetentionPolicy.years).where(
                RetentionPolicy.record_kind == "case", RetentionPolicy.process_key == "complaint"
            )
        )
    assert kept == 4

    held = admin.post(
        "/admin/retention/holds",
        data={"business_number": number, "reason": "诉讼保全"},
        follow_redirects=True,
    )
    assert f"{number} 已处于法律保全中。" in web.flashes(held.text) and "诉讼保全" in held.text
    no_reason = admin.post(
        "/admin/retention/holds/release",
        data={"business_number": number, "reason": ""},
        follow_redirects=True,
    )
    assert "解除法律保全须填写原因。" in web.flashes(no_reason.text)
    released = admin.post(
        "/admin/retention/holds/release",
        data={"business_number": number, "reason": "诉讼结束"},
        follow_redirects=True,
    )
    assert f"{number} 的法律保全已解除。" in web.flashes(released.text)
    with web.engine.sessions() as session:
        hold = session.scalar(select(LegalHold).where(LegalHold.business_number == number))
    assert hold is not None and hold.released_by == "admin1" and hold.release_reason == "诉讼结束"
    assert web.client("sup1").get("/admin/retention").status_code == 403


def test_the_technician_reaches_the_repair_documents_from_the_task_page(web: Web) -> None:
    number, arrival = web.repair_at_arrival("tech1")
    technician = web.client("tech1")
    task_page = technician.get(f"/tasks/{arrival.id}")
    assert f'href="/cases/{arrival.instance_id}/documents"' in task_page.text
    page = technician.get(f"/cases/{arrival.instance_id}/documents")
    assert page.status_code == 200 and number in page.text
    assert "服务凭证" in page.text and "暂不可开具" in page.text  # nothing repaired yet
