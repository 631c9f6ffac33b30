"""New processes, decision tables and forms through the test client.

A new process starts blank or as a copy of a deployed one (new id and names, the same decision
tables and forms by id), saved as its creator's own draft; only process owners may make one.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from engine.definitions.drafts import load_draft
from tests.web.conftest import Web
from tests.web.test_web_modeler import owners, versions

__all__ = ["owners"]


def library_row(text: str, key: str) -> str:
    row = text[text.index(f'<tr data-process="{key}"') :]
    return row[: row.index("</tr>")]


def test_a_new_process_copies_a_deployed_one_under_its_own_id_and_names(owners: Web) -> None:
    client = owners.client("owner1")
    assert '<option value="repair_service">' in client.get("/modeler/").text
    made = client.post(
        "/modeler/new",
        data={
            "process_key": "my_repair",
            "name": "上门维修",
            "name_en": "Repair at the site",
            "template": "repair_service",
        },
    )
    assert made.status_code == 302 and made.headers["Location"].endswith("/modeler/my_repair/edit")
    draft = load_draft(owners.engine.sessions, "my_repair", "owner1")
    assert draft is not None and list(draft.files) == ["my_repair.bpmn"]  # decisions and forms stay shared
    bpmn = draft.files["my_repair.bpmn"]
    assert '<bpmn:process id="my_repair" name="上门维修"' in bpmn
    assert 'processRef="my_repair"' in bpmn and 'id="repair_service"' not in bpmn
    assert bpmn.count('<spiffworkflow:property name="name_en" value="Repair at the site"/>') == 2
    assert load_draft(owners.engine.sessions, "my_repair", "admin") is None  # the creator's own draft
    assert "尚未发布" in library_row(client.get("/modeler/").text, "my_repair")
    assert versions(owners, "repair_service") == [1]  # the template is untouched
    files = client.get("/modeler/api/my_repair/files").json
    checked = client.post("/modeler/api/my_repair/validate", json={"files": files["files"]}).json
    assert checked["ok"] is True, checked
    deployed = client.post(
        "/modeler/api/my_repair/deploy", json={"files": files["files"], "change_summary": "复制维修流程"}
    ).json
    assert deployed["ok"] and ["my_repair", 1] in deployed["deployed"], deployed
    assert versions(owners, "my_repair") == [1] and versions(owners, "repair_service") == [1]
    with owners.engine.sessions() as db:
        assert owners.engine.latest_definition(db, "my_repair").name == "上门维修"


@pytest.mark.parametrize(
    ("template", "message"),
    [("no_such_process", "请选择一个已发布的流程来复制"), ("repair_service", "已存在")],
)
def test_a_copy_of_an_unknown_process_or_under_a_taken_id_is_refused(
    owners: Web, template: str, message: str
) -> None:
    client = owners.client("owner1")
    key = "fresh_copy" if template == "no_such_process" else "repair_service"
    response = client.post(
        "/modeler/new",
        data={"process_key": key, "name": "副本", "template": template},
        follow_redirects=True,
    )
    assert message in response.text
    assert load_draft(owners.engine.sessions, key, "owner1") is None
    assert versions(owners, "repair_service") == [1]


def test_only_process_owners_may_copy_a_process(owners: Web) -> None:
    response = owners.client("sup1").post(
        "/modeler/new", data={"process_key": "my_repair", "name": "x", "template": "repair_service"}
    )
    assert response.status_code == 403
    assert load_draft(owners.engine.sessions, "my_repair", "sup1") is None


def new_file(client: FlaskClient, kind: str, key: str, files: dict[str, str]) -> TestResponse:
    return client.post(
        "/modeler/api/repair_service/new-file",
        json={"kind": kind, "key": key, "name": "新建", "name_en": "New one", "files": files},
    )


def test_a_new_decision_table_and_form_join_the_draft_and_pass_the_deploy_checks(owners: Web) -> None:
    client = owners.client("owner1")
    files = client.get("/modeler/api/repair_service/files").json["files"]
    added = new_file(client, "decision", "visit_fee", files)
    assert added.status_code == 200 and added.json["file"] == "visit_fee.dmn", added.json
    table = etree.fromstring(added.json["text"].encode())
    dmn = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
    assert table.find(f"{dmn}decision").get("id") == "visit_fee"
    assert table.find(f".//{dmn}decisionTable").get("hitPolicy") == "FIRST"
    assert [len(table.findall(f".//{dmn}{tag}")) for tag in ("input", "output", "rule")] == [1, 1, 1]
    draft = load_draft(owners.engine.sessions, "repair_service", "owner1")
    assert draft is not None and draft.files["visit_fee.dmn"] == added.json["text"]
    form = new_file(client, "form", "visit_note", dict(draft.files))
    assert form.status_code == 200 and form.json["file"] == "visit_note.form.json"
    schema = json.loads(form.json["text"])
    assert schema["id"] == "visit_note" and schema["properties"] == {
        "title_zh": "新建",
        "title_en": "New one",
    }
    [field] = schema["components"]
    assert (field["type"], field["label"], field["properties"]["label_en"]) == ("textfield", "备注", "Note")
    draft = load_draft(owners.engine.sessions, "repair_service", "owner1")
    assert draft is not None and {"visit_fee.dmn", "visit_note.form.json"} <= set(draft.files)
    # The diagram uses them: the late step's form and the service-category decision.
    bpmn = (
        draft.files["repair_service.bpmn"]
        .replace('name="formKey" value="repair_escalation"', 'name="formKey" value="visit_note"')
        .replace(
            ">service_category</spiffworkflow:calledDecisionId>",
            ">visit_fee</spiffworkflow:calledDecisionId>",
        )
    )
    using = {**draft.files, "repair_service.bpmn": bpmn}
    checked = client.post("/modeler/api/repair_service/validate", json={"files": using}).json
    assert checked["ok"] is True, checked
    deployed = client.post(
        "/modeler/api/repair_service/deploy", json={"files": using, "change_summary": "新表"}
    ).json
    assert deployed["ok"], deployed
    with owners.engine.sessions() as db:
        newest = owners.engine.latest_definition(db, "repair_service")
        assert {"visit_fee.dmn", "visit_note.form.json"} <= set(owners.engine.definitions.files(newest))


@pytest.mark.parametrize(
    ("kind", "key", "lang", "message"),
    [
        ("decision", "9lives", "zh", "只能由字母、数字和下划线组成"),
        ("form", "bad-name", "en", "takes 1 to 64 letters, digits and underscores"),
        ("decision", "sla_policy", "zh", "已被另一个决策表或表单使用"),
        ("form", "repair_escalation", "en", "is taken by another decision table or form"),
        ("decision", "repair_escalation", "zh", "已被另一个决策表或表单使用"),
    ],
)
def test_a_new_file_with_a_bad_or_taken_id_is_refused_in_both_languages(
    owners: Web, kind: str, key: str, lang: str, message: str
) -> None:
    client = owners.client("owner1")
    client.set_cookie("lang", lang)
    files = client.get("/modeler/api/repair_service/files").json["files"]
    refused = new_file(client, kind, key, files)
    assert refused.status_code == 422 and message in refused.json["message"], refused.json
    assert load_draft(owners.engine.sessions, "repair_service", "owner1") is None  # nothing saved


def test_only_process_owners_may_add_a_decision_table_or_form(owners: Web) -> None:
    files = owners.client("owner1").get("/modeler/api/repair_service/files").json["files"]
    for kind in ("decision", "form"):
        assert new_file(owners.client("sup1"), kind, "visit_fee", files).status_code == 403
    assert load_draft(owners.engine.sessions, "repair_service", "sup1") is None
