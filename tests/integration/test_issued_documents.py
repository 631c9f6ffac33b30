"""Documents as PDF from demo cases: text from the case, the Chinese font embedded, kept as issued."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pypdf
import pytest
from sqlalchemy import select, text

from engine import clock
from engine.accounts.users import Actor
from engine.records.issued_documents import verify_documents
from engine.records.models import IssuedDocument
from engine.records.templates import TemplateRefused, save_template
from engine.runtime import Engine
from engine.runtime.runner import TimerRunner
from engine.store.models import ProcessInstance
from processes.documents.context import sample_context
from processes.documents.issuing import DocumentRefused, Documents
from processes.documents.pdf import PdfFont
from tests.conftest import ROOT
from tests.integration.generated import generated_engine

FONT = PdfFont(ROOT / "web" / "static" / "vendor" / "fonts")
#: A manager sees every case: the general manager also oversees every task.
MANAGER = Actor("gm1", frozenset({"general_manager", "service_supervisor"}))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = generated_engine(tmp_path_factory.mktemp("documents"), 60, seed=11)
    # The monthly statistics case starts on the 1st: let its timer fire for November.
    clock.freeze(datetime.fromisoformat("2026-12-01T00:05:00+08:00"))
    try:
        while TimerRunner(engine).run_once():
            pass
    finally:
        clock.unfreeze()
    yield engine


@pytest.fixture(scope="module")
def documents(demo: Engine) -> Documents:
    return Documents(demo, FONT)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages)


def squeezed(value: Any) -> str:
    """Text without white space: line breaks fall anywhere in a Chinese line."""
    return re.sub(r"\s+", "", str(value))


def embedded_font_files(content: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                found.extend(key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor)
    return found


def first_ready(documents: Documents, demo: Engine, kind: str) -> tuple[int, str]:
    """The first demo case (completed ones first) ready for a kind of document, and its subject."""
    with demo.sessions() as session:
        ids = session.scalars(
            select(ProcessInstance.id).order_by((ProcessInstance.status != "completed"), ProcessInstance.id)
        ).all()
    for instance_id in ids:
        for item in documents.issuable(instance_id, MANAGER):
            if item.kind.key == kind and item.ready:
                return instance_id, item.subject
    raise AssertionError(f"no demo case is ready for {kind}")


#: Per kind, the case values its text must show.
EXPECTED: dict[str, tuple[str, ...]] = {
    "service_voucher": ("customer_name", "product_model", "serial_number", "fault_description", "work_done"),
    "repair_card": ("repair_card_number", "customer_name", "serial_number", "fault_description"),
    "goods_receipt": ("receipt_number", "customer_name", "serial_number", "fault_description"),
    "complaint_form": ("customer_name", "complaint_text", "cause_analysis", "approved_disposition"),
    "reply_letter": ("customer_name", "approved_disposition"),
    "return_notice": ("return_notice_number", "customer_name", "product_name", "batch_number"),
    "recall_notice": ("product_name", "batch_numbers", "reason"),
    "recall_report": ("product_name", "batch_numbers"),
    "complaint_statistics": (),
    "feedback_ledger": (),
}
TITLES = {
    "service_voucher": "服务凭证",
    "repair_card": "修护卡",
    "goods_receipt": "客户商品领取收据",
    "complaint_form": "客户抱怨处理表",
    "reply_letter": "答复函",
    "return_notice": "销售退回通知单",
    "recall_notice": "召回通知",
    "recall_report": "召回总结报告",
    "complaint_statistics": "客户投诉案件统计表",
    "feedback_ledger": "市场信息反馈台帐",
}


@pytest.mark.parametrize("kind", list(TITLES))
def test_every_document_prints_the_case_data_in_an_embedded_chinese_font(
    documents: Documents, demo: Engine, kind: str
) -> None:
    instance_id, subject = first_ready(documents, demo, kind)
    data = documents.case_values(instance_id)
    issued = documents.issue(instance_id, kind, MANAGER, subject=subject)
    with demo.sessions() as session:
        stored = session.get(IssuedDocument, issued.id)
        assert stored is not None
        content = stored.content
        business_number = session.get(ProcessInstance, instance_id).business_number  # type: ignore[union-attr]
    assert content.startswith(b"%PDF-")
    shown = squeezed(pdf_text(content))
    assert TITLES[kind] in shown
    assert squeezed(issued.number) in shown and squeezed(business_number) in shown
    for key in EXPECTED[kind]:
        value = data.get(key)
        assert value not in (None, ""), f"the demo case lacks {key}"
        assert squeezed(value) in shown, f"{kind} does not show {key}={value!r}"
    if subject:
        assert squeezed(subject) in shown
    if kind == "recall_report":
        for row in data["recall_summary"]:
            assert squeezed(row["customer_name"]) in shown
        assert squeezed(data["total_shipped"]) in shown and squeezed(data["total_recovered"]) in shown
    if kind == "complaint_statistics":
        table = data["statistics"]
        # The counting itself is tested with the statistics process; here the document shows the table.
        assert table["month"] == "2026-11" and table["total"] == len(table["cases"])
        assert f"结案件数：{table['total']}" in shown
        for case_number in table["cases"]:
            assert squeezed(case_number) in shown
    if kind == "feedback_ledger":
        ledger = data["feedback_ledger"]
        assert ledger["month"] == "2026-11" and ledger["total"] == len(ledger["lines"]) > 0
        assert f"反馈条数：{ledger['total']}" in shown
        for line in ledger["lines"]:
            assert squeezed(line["reference"]) in shown
    fonts = embedded_font_files(content)
    assert fonts and set(fonts) <= {"/FontFile2", "/FontFile3"}, fonts
    assert len(content) < 200_000, "the font is subset, not embedded whole"


def test_the_reply_letter_carries_the_approved_disposition_and_nothing_of_the_internal_form(
    documents: Documents, demo: Engine
) -> None:
    instance_id, _ = first_ready(documents, demo, "reply_letter")
    data = documents.case_values(instance_id)
    letter = documents.issue(instance_id, "reply_letter", MANAGER)
    with demo.sessions() as session:
        shown = squeezed(pdf_text(session.get(IssuedDocument, letter.id).content))  # type: ignore[union-attr]
    assert squeezed(data["approved_disposition"]) in shown
    shown_fields = ("customer_name", "product_name", "product_model", "order_number", "approved_disposition")
    letter_values = {squeezed(data.get(key)) for key in shown_fields}
    for internal in ("cause_analysis", "investigation_report", "gm_instructions"):
        # A demo value the letter shows in another field (filler text) proves nothing either way.
        if data.get(internal) and squeezed(data[internal]) not in letter_values:
            assert squeezed(data[internal]) not in shown, internal
    for word in ("客户抱怨处理表", "内部文件", "原因分析", "责任部门", "损失"):
        assert word not in shown


def test_a_reissue_is_a_new_version_and_the_first_stays_as_issued(documents: Documents, demo: Engine) -> None:
    instance_id, _ = first_ready(documents, demo, "return_notice")
    first = documents.issue(instance_id, "return_notice", MANAGER)
    with demo.sessions() as session:
        first_bytes = session.get(IssuedDocument, first.id).content  # type: ignore[union-attr]
    second = documents.issue(instance_id, "return_notice", MANAGER)
    assert second.version == first.version + 1 and second.number != first.number
    listed = documents.issued(instance_id, MANAGER)
    assert [d.id for d in listed if d.kind == "return_notice"][-2:] == [first.id, second.id]
    with demo.sessions() as session:
        again = session.get(IssuedDocument, first.id)
        assert again is not None and again.content == first_bytes and again.version == first.version
    assert f"第{second.version}版" in squeezed(pdf_text(second_bytes(demo, second.id)))


def second_bytes(demo: Engine, document_id: int) -> bytes:
    with demo.sessions() as session:
        return session.get(IssuedDocument, document_id).content  # type: ignore[union-attr]


def test_verify_documents_names_a_document_whose_bytes_were_changed(
    documents: Documents, demo: Engine
) -> None:
    instance_id, _ = first_ready(documents, demo, "complaint_form")
    issued = documents.issue(instance_id, "complaint_form", MANAGER)
    with demo.sessions() as session:
        checked, problems = verify_documents(session)
    assert checked >= 1 and problems == []
    original = second_bytes(demo, issued.id)
    tampered = original.replace(b"%PDF-", b"%PDF_", 1)
    with demo.writer.begin() as session:
        session.execute(
            text("UPDATE issued_document SET content = :c WHERE id = :i"), {"c": tampered, "i": issued.id}
        )
    try:
        with demo.sessions() as session:
            _, problems = verify_documents(session)
        assert [p.number for p in problems] == [issued.number]
        assert issued.business_number in str(problems[0])
    finally:
        with demo.writer.begin() as session:
            session.execute(
                text("UPDATE issued_document SET content = :c WHERE id = :i"), {"c": original, "i": issued.id}
            )


def test_a_document_the_case_cannot_have_yet_or_at_all_is_refused_and_nothing_is_kept(
    documents: Documents, demo: Engine
) -> None:
    with demo.sessions() as session:
        before = session.scalar(select(IssuedDocument.id).order_by(IssuedDocument.id.desc()).limit(1))
        repair = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.process_key == "repair_service")
        )
        recall = session.scalar(select(ProcessInstance.id).where(ProcessInstance.process_key == "recall"))
    assert repair is not None and recall is not None
    with pytest.raises(DocumentRefused) as refused:
        documents.issue(repair, "reply_letter", MANAGER)
    assert refused.value.reason == "kind"
    with pytest.raises(DocumentRefused) as refused:
        documents.issue(recall, "recall_notice", MANAGER, subject="不是购货单位的医院")
    assert refused.value.reason in ("subject", "not_ready")
    with demo.sessions() as session:
        after = session.scalar(select(IssuedDocument.id).order_by(IssuedDocument.id.desc()).limit(1))
    assert after == before


def test_an_edited_template_is_a_new_version_the_next_document_is_made_from(
    documents: Documents, demo: Engine
) -> None:
    instance_id, _ = first_ready(documents, demo, "goods_receipt")
    before = documents.issue(instance_id, "goods_receipt", MANAGER)
    body = (documents.templates / "goods_receipt.html").read_text(encoding="utf-8")
    with demo.writer.begin() as session:
        saved = save_template(session, "goods_receipt", body + "<p>本收据一式两联。</p>", "owner1", "两联")
    after = documents.issue(instance_id, "goods_receipt", MANAGER)
    assert (before.template_version, after.template_version) == (saved.version - 1, saved.version)
    assert "本收据一式两联" in squeezed(pdf_text(second_bytes(demo, after.id)))
    assert "本收据一式两联" not in squeezed(pdf_text(second_bytes(demo, before.id)))


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ data.items.__globals__ }}",
        "{% for x in %}",
    ],
)
def test_a_template_reaching_outside_the_sandbox_or_not_parsing_is_refused(demo: Engine, body: str) -> None:
    with demo.writer.begin() as session, pytest.raises(TemplateRefused):
        save_template(session, "reply_letter", body, "owner1", sample=sample_context())


def test_a_template_cannot_make_the_pdf_read_a_file(
    documents: Documents, demo: Engine, tmp_path: Path
) -> None:
    secret = ROOT / "pyproject.toml"
    instance_id, _ = first_ready(documents, demo, "repair_card")
    with demo.writer.begin() as session:
        save_template(session, "repair_card", f'<p>卡</p><img src="{secret}">', "owner1")
    try:
        with pytest.raises(ValueError, match="inline data"):
            documents.issue(instance_id, "repair_card", MANAGER)
    finally:
        with demo.writer.begin() as session:
            save_template(
                session,
                "repair_card",
                (documents.templates / "repair_card.html").read_text("utf-8"),
                "owner1",
            )
