"""The service voucher prints the customer's signature image and the signer's name when there is one."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import insert, select

from engine.records.archive import export_case
from engine.records.retention import case_retention
from engine.records.templates import render_template
from engine.runtime import Engine
from engine.store.database import Base
from engine.store.models import ProcessInstance
from processes.documents.context import sample_context
from processes.documents.issuing import templates_folder
from processes.documents.pdf import html_to_pdf
from processes.documents.signatures import customer_signature
from tests.conftest import ROOT, actor
from web.documents import pdf_font

SHANGHAI = ZoneInfo("Asia/Shanghai")


def drawn_signature() -> bytes:
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).line([(20, 90), (120, 30), (200, 95), (280, 40)], fill="black", width=5)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_images(content: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return sum(len(page.images) for page in reader.pages)


def test_the_voucher_shows_the_signature_image_and_the_signer_and_without_one_a_line_to_sign() -> None:
    body = (templates_folder() / "service_voucher.html").read_text(encoding="utf-8")
    data = {"customer_name": "华东精密机械有限公司", "outcome": "fixed_on_site", "customer_signed": True}
    signature = {
        "image": "data:image/png;base64," + base64.b64encode(drawn_signature()).decode(),
        "signer_name": "王堃",
        "signed_at": "2026-11-23 10:15",
        "collected_by": "张技术",
    }
    signed = html_to_pdf(
        render_template(body, {**sample_context(), "data": data, "signature": signature}),
        pdf_font(),
        "t",
        "f",
    )
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(signed)).pages)
    assert "王堃" in text and "2026-11-23 10:15" in text and "张技术" in text
    assert pdf_images(signed) == 1
    unsigned = html_to_pdf(render_template(body, {**sample_context(), "data": data}), pdf_font(), "t", "f")
    assert (
        pdf_images(unsigned) == 0
        and "＿＿＿" in pypdf.PdfReader(io.BytesIO(unsigned)).pages[0].extract_text()
    )


@pytest.mark.skipif("signature" not in Base.metadata.tables, reason="this schema keeps no signatures")
def test_the_latest_customer_signature_given_on_a_case_is_the_one_printed_kept_and_archived(
    deployed: Engine, tmp_path: Path
) -> None:
    from tests.conftest import COMPLAINT_RECEIVED

    started = deployed.start("complaint", COMPLAINT_RECEIVED, actor("sales1", "sales"))
    table = Base.metadata.tables["signature"]
    png = drawn_signature()
    base = {
        "instance_id": started.id,
        "kind": "customer",
        "collected_by": "tech1",
        "signed_data": {},
        "sha256": "0" * 64,
    }
    with deployed.writer.begin() as session:
        session.execute(
            insert(table).values(
                **base,
                signer_name="李四",
                signed_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
                refused=False,
                image=png,
            )
        )
        session.execute(
            insert(table).values(
                **base,
                signer_name="拒签者",
                signed_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC),
                refused=True,
                refusal_reason="客户拒绝签字",
                image=None,
            )
        )
    with deployed.sessions() as session:
        assert session.get(ProcessInstance, started.id) is not None
        shown = customer_signature(session, started.id, SHANGHAI)
        assert customer_signature(session, started.id + 999, SHANGHAI) is None
        assert session.scalar(select(table.c.id).limit(1)) is not None
    assert shown is not None
    assert (shown["signer_name"], shown["signed_at"]) == ("李四", "2026-11-23 09:00")
    assert shown["image"].startswith("data:image/png;base64,")
    with deployed.sessions() as session:
        instance = session.get(ProcessInstance, started.id)
        assert instance is not None
        bundle = export_case(session, started.business_number, tmp_path / "case.zip").path
        kept = case_retention(session, instance, [], lambda _s, _i: None, SHANGHAI)
    with zipfile.ZipFile(bundle) as zipped:
        names = set(zipped.namelist())
        listed = json.loads(zipped.read("signatures.json"))
    assert [row["signer_name"] for row in listed] == ["李四", "拒签者"]
    assert any(name.startswith("signatures/") and name.endswith(".png") for name in names)
    checked = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "scripts" / "archive-verify.py"), str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.stdout.strip() == "OK"
    assert kept.ended_at is None  # an open case lists no records yet: nothing of it can be due
