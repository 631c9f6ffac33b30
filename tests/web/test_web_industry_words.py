"""Return and recall forms speak of medicines only for a pharmaceutical company (issue 13, words).

The company's industry is a setting (``company_profile.dmn``) and the words each industry uses
are a term table (``industry_terms.dmn``): with the industry set to medical devices or
machinery, no label, help text, option, title, step name or document says 药品 or 药监部门 (in
English: drug, NMPA); a pharmaceutical company keeps today's words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from afterflow import DIAGRAMS
from engine.accounts.users import Actor, create_user
from engine.store.models import ProcessDefinition, Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from processes.terms import company_words
from tests.conftest import diagram_files
from tests.web.conftest import Web
from web.form_view import form_context
from web.names_view import step_label

ROLES = {username: roles for username, _name, roles in DEMO_USERS}
QA = Actor("qa1", frozenset({"quality"}))
CHINESE_DRUG_WORDS = ("药品", "药监部门")
ENGLISH_DRUG_WORDS = re.compile(r"\b(drugs?|medicines?|NMPA)\b", re.IGNORECASE)


def with_industry(web: Web, industry: str) -> None:
    """The process owner sets the company's industry in company_profile and deploys."""
    files = diagram_files()
    files["company_profile.dmn"] = files["company_profile.dmn"].replace(
        "<text>'pharmaceutical'</text>", f"<text>'{industry}'</text>"
    )
    web.engine.deploy(files, deployed_by="owner1")


@pytest.fixture
def staff(web: Web) -> Web:
    with web.engine.writer.begin() as session:
        for username in ("qa1", "sales1"):
            create_user(session, username, DEMO_PASSWORD, ROLES[username], ROLE_KEYS, username)
    return web


def english(client: FlaskClient) -> FlaskClient:
    client.post("/language", data={"lang": "en"})
    return client


def drug_words(text: str) -> list[str]:
    found = [word for word in CHINESE_DRUG_WORDS if word in text]
    return found + ENGLISH_DRUG_WORDS.findall(text)


def recall_at_report(web: Web) -> Task:
    """A recall of a batch nobody bought goes straight to quality's report."""
    case = web.engine.start(
        "recall",
        {
            "product_name": "多参数监护仪",
            "batch_numbers": "NO-SUCH-BATCH",
            "recall_type": "ordered",
            "recall_level": "2",
            "reason": "电源模块过热",
            "regulator_notice": "监管通知 2026-17",
        },
        QA,
    )
    with web.engine.sessions() as session:
        task = session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == "open"))
    assert task is not None and task.spec_id == "task_report"
    return task


@pytest.mark.parametrize("industry", ["medical_devices", "machinery"])
def test_a_device_or_machinery_company_reads_no_drug_words_on_the_return_and_recall_pages(
    staff: Web, industry: str
) -> None:
    with_industry(staff, industry)
    start = staff.client("sales1").get("/start/sales_return").text
    assert "产品名称" in start and drug_words(start) == []
    assert "冷藏（冷链）产品" in start
    assert drug_words(english(staff.client("sales1")).get("/start/sales_return").text) == []

    report = recall_at_report(staff)
    page = staff.client("qa1").get(f"/tasks/{report.id}").text
    assert drug_words(page) == []
    assert "报告生产企业和监管部门" in page and "已报告监管部门" in page
    english_page = english(staff.client("qa1")).get(f"/tasks/{report.id}").text
    assert drug_words(english_page) == [] and "regulator" in english_page


def test_a_pharmaceutical_company_keeps_todays_words(staff: Web) -> None:
    start = staff.client("sales1").get("/start/sales_return").text
    assert "药品名称" in start and "冷藏（冷链）药品" in start
    report = recall_at_report(staff)
    page = staff.client("qa1").get(f"/tasks/{report.id}").text
    assert "报告生产企业和药监部门" in page and "已报告药品监督管理部门" in page
    assert "drug regulator" in english(staff.client("qa1")).get(f"/tasks/{report.id}").text


def every_return_and_recall_text(app: Flask, web: Web, lang: str) -> dict[str, str]:
    """Each return and recall form as rendered (title, labels, help texts, options) and each step's name."""
    texts: dict[str, str] = {}
    with app.test_request_context():
        with web.engine.sessions() as session:
            definitions = [
                session.scalars(
                    select(ProcessDefinition)
                    .where(ProcessDefinition.process_key == key)
                    .order_by(ProcessDefinition.version.desc())
                ).first()
                for key in ("sales_return", "recall")
            ]
        for definition in definitions:
            assert definition is not None
            meta = web.engine.definitions.meta(definition)
            for form_key in meta.get("forms", {}):
                view = form_context(web.engine.form_of(definition, form_key), {}, {}, lang, web.engine)
                parts = [view.title]
                for field in view.fields:
                    parts += [field.label, field.description, *(label for _value, label in field.options)]
                texts[form_key] = "\n".join(parts)
            for spec_id, name in meta.get("elements", {}).items():
                texts[f"{definition.process_key}.{spec_id}"] = step_label(
                    definition.process_key, spec_id, name
                )
    return texts


@pytest.mark.parametrize("industry", ["medical_devices", "machinery"])
def test_no_return_or_recall_form_step_or_document_assumes_medicines(
    app: Flask, staff: Web, industry: str
) -> None:
    pharmaceutical = every_return_and_recall_text(app, staff, "zh")
    assert any("药品" in text for text in pharmaceutical.values())  # the words the table replaces

    with_industry(staff, industry)
    for lang in ("zh", "en"):
        texts = every_return_and_recall_text(app, staff, lang)
        assert {key: drug_words(text) for key, text in texts.items() if drug_words(text)} == {}
    with staff.engine.sessions() as session:
        words = company_words(session)
    assert words.industry == industry
    for template in ("return_notice", "recall_notice", "recall_report", "goods_receipt"):
        body = (Path(DIAGRAMS) / "documents" / f"{template}.html").read_text(encoding="utf-8")
        assert drug_words(words.say(body)) == []
    assert "监管部门" in words.say((Path(DIAGRAMS) / "documents" / "recall_report.html").read_text("utf-8"))


def test_a_new_word_in_the_term_table_shows_on_the_next_page(staff: Web) -> None:
    """The process owner edits the words: a row added to the table and deployed is used at once."""
    files = diagram_files()
    files["company_profile.dmn"] = files["company_profile.dmn"].replace(
        "<text>'pharmaceutical'</text>", "<text>'medical_devices'</text>"
    )
    files["industry_terms.dmn"] = files["industry_terms.dmn"].replace(
        "<text>'产品'</text>", "<text>'器械'</text>"
    )
    staff.engine.deploy(files, deployed_by="owner1")
    start = staff.client("sales1").get("/start/sales_return").text
    assert "器械名称" in start and "药品" not in start
