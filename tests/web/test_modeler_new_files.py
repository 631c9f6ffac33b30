"""New processes, decision tables and forms through the test client.

A new process starts blank or as a copy of a deployed one (new id and names, the same decision
tables and forms by id), saved as its creator's own draft; only process owners may make one.
"""

from __future__ import annotations

import pytest

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
