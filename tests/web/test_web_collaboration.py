"""Comments and file attachments on a case: who may add and read them, limits, type checks, audit."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.errors import NotFound, PermissionDenied
from engine.runtime.collaboration import (
    MAX_ATTACHMENT_BYTES,
    AttachmentRefused,
    Collaboration,
    check_file,
    sniff,
)
from engine.store.models import Attachment, Comment, Event

REMOTE_GUIDANCE = "电话指导"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["序列号", "故障"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def case_task(web) -> tuple[str, str]:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    return number, web.task_id(cs1, number, REMOTE_GUIDANCE)


def upload(client, task_id: str, name: str, content: bytes):
    return client.post(
        f"/tasks/{task_id}/attachments",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


# --- comments ---------------------------------------------------------------------------------------


def test_a_comment_is_shown_on_the_case_with_its_author_and_audited(web) -> None:
    _number, task_id = case_task(web)
    cs1, cs2 = web.client("cs1"), web.client("cs2")
    response = cs1.post(f"/tasks/{task_id}/comments", data={"body": "客户下午 3 点后在。\n<b>请先电话</b>"})
    assert response.status_code == 302
    assert re.fullmatch(rf"/tasks/{task_id}#comment-\d+", response.location)
    page = cs2.get(f"/tasks/{task_id}").text  # a colleague of the role reads it too
    comments = re.search(r'<section class="card" id="comments".*?</section>', page, re.DOTALL).group(0)
    assert "<b>王客服</b>" in comments
    assert "客户下午 3 点后在。\n&lt;b&gt;请先电话&lt;/b&gt;" in comments  # kept as typed, never as HTML
    assert '<span class="count">1</span>' in comments
    with web.engine.sessions() as session:
        (comment,) = session.scalars(select(Comment)).all()
        event = session.scalar(select(Event).where(Event.action == "comment_added"))
        assert (comment.author, comment.task_id) == ("cs1", task_id)
        assert (
            event is not None
            and event.actor == "cs1"
            and event.data == {"comment_id": comment.id, "length": 23}
        )
    assert "王客服</b> 添加备注 电话指导" in page


def test_empty_and_too_long_comments_are_refused_with_a_message(web) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    empty = cs1.post(f"/tasks/{task_id}/comments", data={"body": "   "})
    assert "请先填写备注内容。" in web.flashes(cs1.get(empty.location).text)
    long = cs1.post(f"/tasks/{task_id}/comments", data={"body": "长" * 2001})
    assert "备注最多 2000 个字。" in web.flashes(cs1.get(long.location).text)
    assert cs1.post(f"/tasks/{task_id}/comments", data={"body": "长" * 2000}).status_code == 302
    with web.engine.sessions() as session:
        assert [len(c.body) for c in session.scalars(select(Comment))] == [2000]


def test_comments_of_a_case_are_only_for_those_who_may_see_its_task(web) -> None:
    _number, task_id = case_task(web)
    cs1, tech1 = web.client("cs1"), web.client("tech1")
    cs1.post(f"/tasks/{task_id}/comments", data={"body": "内部备注"})
    with web.engine.sessions() as session:
        comment_id = session.scalar(select(Comment.id))
    assert cs1.get(f"/comments/{comment_id}").location == f"/tasks/{task_id}#comment-{comment_id}"
    for response in (
        tech1.get(f"/comments/{comment_id}"),
        tech1.post(f"/tasks/{task_id}/comments", data={"body": "我也来写"}),
    ):
        assert response.status_code == 403
        assert "您无权访问此页面。" in response.text
        assert "内部备注" not in response.text and "Traceback" not in response.text
    assert cs1.get("/comments/999999").status_code == 404
    with web.engine.sessions() as session:
        assert session.scalar(select(Comment).where(Comment.author == "tech1")) is None


def test_the_comment_command_checks_the_case_and_the_reader(web) -> None:
    number, task_id = case_task(web)
    task = web.open_task(number, "task_remote_guidance")
    collaboration = Collaboration(web.engine)
    with pytest.raises(NotFound):
        collaboration.add_comment(
            task.instance_id + 1, task_id, "错案", Actor("cs1", frozenset({"customer_service"}))
        )
    with pytest.raises(PermissionDenied):
        collaboration.add_comment(task.instance_id, task_id, "x", Actor("tech1", frozenset({"technician"})))
    # A supervisor oversees all work and may comment anywhere.
    assert collaboration.add_comment(
        task.instance_id, task_id, "已关注", Actor("sup1", frozenset({"service_supervisor"}))
    )


# --- attachments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("故障照片.png", PNG, "image/png"),
        ("报价单.PDF", PDF, "application/pdf"),
        ("现场.jpg", JPEG, "image/jpeg"),
        ("配件清单.xlsx", xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("维修报告.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("说明.txt", "主轴异响\r\n".encode(), "text/plain"),
        ("台账.csv", "序列号,客户\nSN-1,华东\n".encode("gb18030"), "text/csv"),
    ],
)
def test_allowed_files_are_stored_with_their_facts_and_downloaded_unchanged(
    web, name: str, content: bytes, content_type: str
) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    response = upload(cs1, task_id, name, content)
    assert response.location == f"/tasks/{task_id}#attachments"
    page = cs1.get(f"/tasks/{task_id}").text
    assert f"已上传 {name}。" in web.flashes(page)
    with web.engine.sessions() as session:
        (stored,) = session.scalars(select(Attachment)).all()
        assert (stored.filename, stored.content_type, stored.size) == (name, content_type, len(content))
        assert stored.sha256 == hashlib.sha256(content).hexdigest()
        assert stored.uploaded_by == "cs1"
        event = session.scalar(select(Event).where(Event.action == "attachment_added"))
        assert event is not None and event.data["filename"] == name and event.data["sha256"] == stored.sha256
    assert f'<a href="/attachments/{stored.id}" download>{name}</a>' in page

    download = web.client("cs2").get(f"/attachments/{stored.id}")
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == content_type
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "setup.exe",
            b"MZ\x90\x00\x03\x00\x00\x00",
            "不接受 setup.exe 这类文件；只接受 PDF, PNG, JPG, XLSX, DOCX, TXT, CSV 文件。",
        ),
        ("page.html", b"<html><script>alert(1)</script></html>", "不接受 page.html 这类文件"),
        ("noextension", b"hello", "不接受 noextension 这类文件"),
        ("photo.png", PDF, "photo.png 的内容不是 PNG 文件；只接受"),
        ("report.pdf", b"just text", "report.pdf 的内容不是 PDF 文件"),
        ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "notes.txt 的内容不是 TXT 文件"),
        ("sheet.xlsx", docx(), "sheet.xlsx 的内容不是 XLSX 文件"),
        ("empty.txt", b"", "empty.txt 是空文件。"),
    ],
)
def test_other_files_are_refused_with_a_clear_message(web, name: str, content: bytes, message: str) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    response = upload(cs1, task_id, name, content)
    assert response.status_code == 302
    flashes = web.flashes(cs1.get(response.location).text)
    assert any(message in flash for flash in flashes), flashes
    with web.engine.sessions() as session:
        assert session.scalar(select(Attachment.id)) is None


def test_refusals_are_in_english_for_english_users(web) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    cs1.post("/language", data={"lang": "en"})
    response = upload(cs1, task_id, "photo.png", PDF)
    assert (
        "photo.png is not really a PNG file; only PDF, PNG, JPG, XLSX, DOCX, TXT, CSV files are accepted."
        in (web.flashes(cs1.get(response.location).text))
    )


def test_a_file_over_the_limit_is_a_413_page_in_the_users_language(web) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    response = upload(cs1, task_id, "big.pdf", b"%PDF-" + bytes(MAX_ATTACHMENT_BYTES + 1024 * 1024))
    assert response.status_code == 413
    assert "<h1>413</h1>" in response.text
    assert "上传的文件太大：每个文件最大 10 MB。" in response.text
    assert "Traceback" not in response.text
    cs1.post("/language", data={"lang": "en"})
    english = upload(cs1, task_id, "big.pdf", b"%PDF-" + bytes(MAX_ATTACHMENT_BYTES + 1024 * 1024))
    assert "The upload is too large: files may have at most 10 MB." in english.text


def test_the_limit_is_exact_a_byte_over_is_refused_and_the_limit_itself_accepted(web) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    over = upload(cs1, task_id, "over.pdf", b"%PDF-" + bytes(MAX_ATTACHMENT_BYTES - 4))
    assert "over.pdf 超过 10 MB，不能上传。" in web.flashes(cs1.get(over.location).text)
    exact = upload(cs1, task_id, "exact.pdf", b"%PDF-" + bytes(MAX_ATTACHMENT_BYTES - 5))
    assert "已上传 exact.pdf。" in web.flashes(cs1.get(exact.location).text)


def attachment_ids(web) -> list[int]:
    with web.engine.sessions() as session:
        return list(session.scalars(select(Attachment.id).order_by(Attachment.id)))


def test_a_file_is_downloaded_only_by_those_who_may_see_its_case(web) -> None:
    # A case still with customer service: its role and the supervisors may read its files.
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    upload(cs1, task_id, "报价单.pdf", PDF)
    (attachment_id,) = attachment_ids(web)
    assert web.client("cs2").get(f"/attachments/{attachment_id}").status_code == 200
    assert web.client("sup1").get(f"/attachments/{attachment_id}").status_code == 200
    refused = web.client("tech1").get(f"/attachments/{attachment_id}")  # no technician works on it
    assert refused.status_code == 403
    assert (
        "您无权访问此页面。" in refused.text
        and "%PDF" not in refused.text
        and "Traceback" not in refused.text
    )
    assert cs1.get("/attachments/999999").status_code == 404
    assert web.app.test_client().get(f"/attachments/{attachment_id}").status_code == 302  # to the login

    # Once a technician works on a case, it reads the files added before it came.
    number, _arrival = web.repair_at_arrival("tech1")
    (guidance,) = [r for r in web.rows(cs1, "done") if r.business_number == number]
    upload(cs1, guidance.task_id, "现场.jpg", JPEG)
    later = attachment_ids(web)[-1]
    assert web.client("tech1").get(f"/attachments/{later}").data == JPEG
    assert web.client("tech1").get(f"/attachments/{attachment_id}").status_code == 403


def test_another_roles_user_cannot_attach_to_a_task_it_may_not_see(web) -> None:
    _number, task_id = case_task(web)
    refused = upload(web.client("tech1"), task_id, "x.pdf", PDF)
    assert refused.status_code == 403
    with web.engine.sessions() as session:
        assert session.scalar(select(Attachment.id)) is None


def test_a_missing_file_is_asked_for(web) -> None:
    _number, task_id = case_task(web)
    cs1 = web.client("cs1")
    response = cs1.post(f"/tasks/{task_id}/attachments", data={}, content_type="multipart/form-data")
    assert "请选择要上传的文件。" in web.flashes(cs1.get(response.location).text)


def test_file_checks_look_at_the_content_not_just_the_name() -> None:
    assert sniff(PDF) == "pdf" and sniff(PNG) == "png" and sniff(JPEG) == "jpeg"
    assert sniff(xlsx()) == "xlsx" and sniff(docx()) == "docx"
    assert sniff(b"PK\x03\x04 not a zip") is None
    assert sniff("中文 GBK".encode("gbk")) == "text"
    assert sniff(b"\x00\x01\x02") is None
    assert check_file("a.jpeg", JPEG) == "image/jpeg"
    with pytest.raises(AttachmentRefused) as refused:
        check_file("a.csv", b"a,b\x00c")
    assert refused.value.reason == "content"


def test_upload_size_is_cut_off_before_the_request_is_read(make_app: Callable[..., Flask]) -> None:
    app = make_app(TESTING=True)
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_ATTACHMENT_BYTES + 64 * 1024
