"""The process owners' workshop through the test client: access, library, editor API, upload.

Only process owners (and admins) reach any modeler URL; deploys through the editor API keep
cases in flight on their version; files from other modelling tools either deploy or come back
as a list of problems by element — never an error page.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.accounts.users import create_user
from engine.store.models import Event, ProcessDefinition, ProcessInstance
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.conftest import ROOT, actor
from tests.integration.test_version_migration import repair_v2
from tests.web.conftest import Web

FOREIGN = sorted((ROOT / "tests" / "fixtures" / "foreign").glob("*.bpmn"))
OWNER_URLS = (
    ("get", "/modeler/"),
    ("get", "/modeler/repair_service/edit"),
    ("get", "/modeler/repair_service/v1.zip"),
    ("get", "/modeler/repair_service/compare?from=1&to=1"),
    ("get", "/modeler/repair_service/migrate?from=1&to=1"),
    ("get", "/modeler/api/repair_service/files"),
    ("put", "/modeler/api/repair_service/draft"),
    ("delete", "/modeler/api/repair_service/draft"),
    ("post", "/modeler/api/repair_service/validate"),
    ("post", "/modeler/api/repair_service/deploy"),
    ("post", "/modeler/repair_service/migrate"),
    ("post", "/modeler/upload"),
    ("post", "/modeler/new"),
    ("post", "/modeler/api/repair_service/new-file"),
)


@pytest.fixture
def owners(web: Web) -> Web:
    with web.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "蒋流程")
        create_user(session, "admin", DEMO_PASSWORD, ["admin"], ROLE_KEYS, "管理员")
    return web


def repair_files(client: FlaskClient) -> dict[str, str]:
    response = client.get("/modeler/api/repair_service/files")
    assert response.status_code == 200
    files: dict[str, str] = response.json["files"]
    return files


def versions(web: Web, key: str = "repair_service") -> list[int]:
    with web.engine.sessions() as session:
        return list(
            session.scalars(
                select(ProcessDefinition.version)
                .where(ProcessDefinition.process_key == key)
                .order_by(ProcessDefinition.version)
            )
        )


@pytest.mark.parametrize("user", ["cs1", "sup1", "tech1"])
def test_everyone_but_process_owners_gets_403_on_every_modeler_url(owners: Web, user: str) -> None:
    client = owners.client(user)
    for method, url in OWNER_URLS:
        response = getattr(client, method)(url, json={"files": {"a.bpmn": "x"}, "change_summary": "x"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert versions(owners) == [1]
    assert "/modeler/" not in client.get("/").text  # no nav link either


def test_anonymous_visitors_are_sent_to_the_login_page(owners: Web) -> None:
    response = owners.client().get("/modeler/")
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("user", ["owner1", "admin"])
def test_process_owners_see_the_library_with_versions_and_running_cases(owners: Web, user: str) -> None:
    owners.start_repair(owners.client("cs1"))
    client = owners.client(user)
    page = client.get("/modeler/")
    assert page.status_code == 200
    assert 'href="/modeler/"' in client.get("/").text
    row = page.text[page.text.index('data-process="repair_service" data-version="1"') :]
    row = row[: row.index("</tr>")]
    assert "owner1" in row and '<td class="running">1</td>' in row
    assert client.get("/modeler/repair_service/edit").status_code == 200


def test_download_gives_the_version_files_as_a_zip(owners: Web) -> None:
    response = owners.client("owner1").get("/modeler/repair_service/v1.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "repair_service.bpmn" in names and "sla_policy.dmn" in names
    assert "forms/repair_register.form.json" in names
    assert owners.client("owner1").get("/modeler/repair_service/v9.zip").status_code == 404


def test_a_draft_is_kept_reloaded_and_discarded(owners: Web) -> None:
    client = owners.client("owner1")
    files = repair_files(client)
    edited = {
        **files,
        "repair_service.bpmn": files["repair_service.bpmn"].replace('name="派工"', 'name="派工安排"'),
    }
    assert client.put("/modeler/api/repair_service/draft", json={"files": edited, "version": 1}).json["ok"]
    again = client.get("/modeler/api/repair_service/files").json
    assert again["source"] == "draft" and 'name="派工安排"' in again["files"]["repair_service.bpmn"]
    assert 'class="badge draft"' in client.get("/modeler/").text
    assert client.delete("/modeler/api/repair_service/draft").json["discarded"] is True
    assert client.get("/modeler/api/repair_service/files").json["source"] == "version"
    bad = client.put("/modeler/api/repair_service/draft", json={"files": {"../x.bpmn": "x"}})
    assert bad.status_code == 400


def test_validate_lists_problems_by_element_and_deploys_nothing(owners: Web) -> None:
    client = owners.client("owner1")
    files = repair_files(client)
    broken = files["repair_service.bpmn"].replace(
        '<bpmn:sequenceFlow id="flow_dispatch_arrival" sourceRef="task_dispatch" targetRef="task_arrival" />',
        "",
    )
    result = client.post(
        "/modeler/api/repair_service/validate", json={"files": {**files, "repair_service.bpmn": broken}}
    )
    assert result.status_code == 200 and result.json["ok"] is False
    ids = {p["element_id"] for p in result.json["problems"]}
    assert "task_arrival" in ids
    deploy = client.post(
        "/modeler/api/repair_service/deploy",
        json={"files": {**files, "repair_service.bpmn": broken}, "change_summary": "坏"},
    )
    assert deploy.status_code == 422 and deploy.json["problems"]
    assert versions(owners) == [1]
    assert client.post("/modeler/api/repair_service/validate", json={"files": files}).json["ok"] is True


def test_deploy_keeps_cases_in_flight_and_new_cases_take_the_new_version(owners: Web) -> None:
    early = owners.start_repair(owners.client("cs1"))
    client = owners.client("owner1")
    client.put("/modeler/api/repair_service/draft", json={"files": repair_files(client)})
    files = repair_v2(repair_files(client))
    assert (
        client.post("/modeler/api/repair_service/deploy", json={"files": files}).status_code == 400
    )  # no summary

    response = client.post(
        "/modeler/api/repair_service/deploy", json={"files": files, "change_summary": "备件确认"}
    )

    assert response.status_code == 200, response.json
    assert response.json["deployed"] == [["repair_service", 2]]
    assert client.get("/modeler/api/repair_service/files").json["source"] == "version"  # the draft is gone
    late = owners.start_repair(owners.client("cs1"))
    with owners.engine.sessions() as session:
        by_number = {
            i.business_number: i.definition.version
            for i in session.scalars(
                select(ProcessInstance).where(ProcessInstance.process_key == "repair_service")
            )
        }
        newest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.version == 2))
        assert newest is not None and (newest.deployed_by, newest.change_summary) == ("owner1", "备件确认")
    assert by_number == {early: 1, late: 2}
    page = client.get("/modeler/").text
    assert "备件确认" in page


def test_compare_and_migrate_pages(owners: Web) -> None:
    early = owners.start_repair(owners.client("cs1"))
    client = owners.client("owner1")
    files = repair_v2(repair_files(client))
    client.post("/modeler/api/repair_service/deploy", json={"files": files, "change_summary": "备件确认"})

    compare = client.get("/modeler/repair_service/compare?from=1&to=2")
    assert compare.status_code == 200
    pickers = compare.text[compare.text.index('class="compare-pick"') :]
    assert (
        '<select name="from"><option value="1" selected>v1</option><option value="2">v2</option>' in pickers
    )
    added = compare.text[compare.text.index('id="diff-added"') :]
    assert 'data-element="task_parts_check"' in added[: added.index("</ul>")]
    api = client.get("/modeler/api/repair_service/compare?from=1&to=2").json
    assert "task_parts_check" in {c["id"] for c in api["diff"]["added"]}
    assert {c["id"] for c in api["diff"]["changed"]} == {"flow_dispatch_arrival"}

    dry = client.get("/modeler/repair_service/migrate?from=1&to=2")
    assert dry.status_code == 200 and early in dry.text and 'class="ok"' in dry.text
    refused = client.post("/modeler/repair_service/migrate", data={"from": "1", "to": "2", "reason": ""})
    assert refused.status_code == 302
    client.post("/modeler/repair_service/migrate", data={"from": "1", "to": "2", "reason": "新环节"})
    with owners.engine.sessions() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == early))
        assert instance is not None and instance.definition.version == 2
        event = session.scalar(
            select(Event).where(Event.instance_id == instance.id, Event.action == "instance_migrated")
        )
        assert event is not None and event.data is not None and event.data["reason"] == "新环节"


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: p.name)
def test_uploading_a_foreign_bpmn_deploys_or_lists_problems_by_element(owners: Web, path: Path) -> None:
    client = owners.client("owner1")
    before = versions(owners, path.stem)
    response = client.post(
        "/modeler/upload",
        data={"files": (io.BytesIO(path.read_bytes()), path.name), "change_summary": "导入"},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 422), response.status_code
    assert "<h1>" in response.text and "error-page" not in response.text
    if response.status_code == 422:
        assert 'id="problems"' in response.text
        assert "<tr data-element=" in response.text
        assert versions(owners, path.stem) == before
    else:
        assert 'id="deployed"' in response.text


def test_upload_without_a_file_or_with_another_kind_of_file_lists_the_problem(owners: Web) -> None:
    client = owners.client("owner1")
    assert client.post("/modeler/upload", data={}).status_code == 422
    response = client.post(
        "/modeler/upload",
        data={"files": (io.BytesIO(b"hello"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "notes.txt" in response.text


def test_a_camunda_diagram_uploads_with_its_conversion_report(owners: Web) -> None:
    path = ROOT / "tests" / "fixtures" / "camunda" / "site_inspection.bpmn"
    client = owners.client("owner1")
    response = client.post(
        "/modeler/upload",
        data={"files": (io.BytesIO(path.read_bytes()), path.name), "change_summary": "导入 Camunda 流程"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text
    assert 'id="deployed"' in response.text
    report = response.text[response.text.index('id="conversion"') :]
    assert '<tr data-element="Activity_inspect" class="converted">' in report
    assert "candidate group &#39;service_supervisor&#39; → lane" in report
    assert '<tr data-element="Activity_inspect" class="not-converted">' in report
    assert versions(owners, "site_inspection") == [1]


def test_a_new_process_starts_as_a_draft_and_deploys_from_the_editor(owners: Web) -> None:
    client = owners.client("owner1")
    made = client.post(
        "/modeler/new", data={"process_key": "site_visit", "name": "现场巡检", "role": "service_supervisor"}
    )
    assert made.status_code == 302 and made.headers["Location"].endswith("/modeler/site_visit/edit")
    assert client.get("/modeler/site_visit/edit").status_code == 200
    library = client.get("/modeler/").text
    row = library[library.index('<tr data-process="site_visit"') :]
    assert "现场巡检" in row[: row.index("</tr>")] and "尚未发布" in row[: row.index("</tr>")]
    files = client.get("/modeler/api/site_visit/files").json
    assert files["source"] == "draft" and files["latest"] is None
    names_en = re.findall(r'name="name_en" value="([^"]*)"', files["files"]["site_visit.bpmn"])
    assert names_en == ["现场巡检", "现场巡检", "Service supervisor", "First step"]  # every named element
    assert client.post("/modeler/api/site_visit/validate", json={"files": files["files"]}).json["ok"] is True
    deployed = client.post(
        "/modeler/api/site_visit/deploy", json={"files": files["files"], "change_summary": "新建"}
    ).json
    assert deployed["ok"] and deployed["deployed"] == [["site_visit", 1]]
    assert versions(owners, "site_visit") == [1]
    started = owners.engine.start("site_visit", {}, actor("sup1", "service_supervisor"))
    task = owners.open_task(started.business_number, "task_1")
    assert (task.role, task.name) == ("service_supervisor", "第一步")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"process_key": "Bad Key", "name": "x", "role": "service_supervisor"}, "流程标识为 3 到 64 个"),
        ({"process_key": "repair_service", "name": "x", "role": "service_supervisor"}, "已存在"),
        ({"process_key": "fine_key", "name": "", "role": "service_supervisor"}, "请填写流程名称"),
        ({"process_key": "fine_key", "name": "x", "role": "nobody"}, "请选择第一步的角色"),
    ],
)
def test_a_new_process_with_a_bad_id_name_or_role_is_refused(
    owners: Web, data: dict[str, str], message: str
) -> None:
    client = owners.client("owner1")
    response = client.post("/modeler/new", data=data, follow_redirects=True)
    assert message in response.text
    assert client.get("/modeler/fine_key/edit").status_code == 404


def test_deploy_from_the_editor_refuses_an_unknown_service_naming_the_task(owners: Web) -> None:
    client = owners.client("owner1")
    files = repair_files(client)
    broken = files["repair_service.bpmn"].replace(
        'serviceTaskOperator id="product_lookup"', 'serviceTaskOperator id="product_finder"'
    )
    deploy = client.post(
        "/modeler/api/repair_service/deploy",
        json={"files": {**files, "repair_service.bpmn": broken}, "change_summary": "换服务"},
    )
    assert deploy.status_code == 422
    problems = {p["element_id"]: p["message"] for p in deploy.json["problems"]}
    assert "product_finder" in problems["service_product_lookup"]
    assert "modeler.setting" not in problems["service_product_lookup"]  # worded, not a code
    assert versions(owners) == [1]
    checked = client.post(
        "/modeler/api/repair_service/validate", json={"files": {**files, "repair_service.bpmn": broken}}
    )
    assert checked.json["ok"] is False
    assert "service_product_lookup" in {p["element_id"] for p in checked.json["problems"]}


def test_a_camunda_diagram_with_embedded_form_fields_uploads_with_a_generated_form(owners: Web) -> None:
    from tests.unit.test_convert_foreign import embedded_camunda

    client = owners.client("owner1")
    response = client.post(
        "/modeler/upload",
        data={
            "files": (io.BytesIO(embedded_camunda().encode()), "site_inspection.bpmn"),
            "change_summary": "导入",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.text
    assert 'id="deployed"' in response.text
    report = response.text[response.text.index('id="conversion"') :]
    assert "embedded form fields → generated form &#39;activity_inspect.form.json&#39;" in report
    assert "&#39;photo&#39; of type &#39;file&#39;" in report
    files = client.get("/modeler/api/site_inspection/files").json["files"]
    assert "activity_inspect.form.json" in files
