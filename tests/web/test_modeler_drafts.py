"""Each process owner's own draft: saved apart, shown to the others, checked on save, deployed with care.

Two owners edit the same process: neither save replaces the other's draft; the other sees who
is editing and when they saved; a draft whose side-panel settings are wrong (a cardinality over
the cap, a service no one provides, a payload that is no expression) is refused on save with
the message in the reader's language, and nothing is stored; deploying over a version deployed
after one's draft was started asks first.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine import clock
from engine.accounts.users import create_user
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.integration.test_version_migration import repair_v2
from tests.web.conftest import Web

DRAFT = "/modeler/api/repair_service/draft"
FILES = "/modeler/api/repair_service/files"
DEPLOY = "/modeler/api/repair_service/deploy"
LOOP = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"


@pytest.fixture
def owners(web: Web) -> Web:
    with web.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "蒋流程")
        create_user(session, "owner2", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "王工")
    return web


def files_of(client: FlaskClient) -> dict[str, str]:
    files: dict[str, str] = client.get(FILES).json["files"]
    return files


def renamed(files: dict[str, str], old: str, new: str) -> dict[str, str]:
    bpmn = files["repair_service.bpmn"]
    assert f'name="{old}"' in bpmn
    return {**files, "repair_service.bpmn": bpmn.replace(f'name="{old}"', f'name="{new}"')}


def with_dispatch_loop(files: dict[str, str], cardinality: str) -> dict[str, str]:
    bpmn = files["repair_service.bpmn"]
    start = bpmn.index('<bpmn:userTask id="task_dispatch"')
    end = bpmn.index("</bpmn:userTask>", start)
    changed = bpmn[:end] + LOOP.format(cardinality) + bpmn[end:]
    return {**files, "repair_service.bpmn": changed}


def test_two_owners_drafts_do_not_overwrite_each_other(owners: Web) -> None:
    first, second = owners.client("owner1"), owners.client("owner2")
    base = files_of(first)
    assert first.put(DRAFT, json={"files": renamed(base, "派工", "派工安排"), "version": 1}).json["ok"]
    assert second.put(DRAFT, json={"files": renamed(base, "派工", "派工调度"), "version": 1}).json["ok"]

    mine, theirs = first.get(FILES).json, second.get(FILES).json
    assert mine["source"] == theirs["source"] == "draft"
    assert 'name="派工安排"' in mine["files"]["repair_service.bpmn"]
    assert 'name="派工调度"' in theirs["files"]["repair_service.bpmn"]

    library = first.get("/modeler/").text
    row = library[library.index('<tr data-process="repair_service"') :]
    assert '<small class="draft-by">蒋流程, 王工</small>' in row[: row.index("</tr>")]  # whose drafts
    assert second.delete(DRAFT).json["discarded"] is True
    assert second.get(FILES).json["source"] == "version"
    assert 'name="派工安排"' in first.get(FILES).json["files"]["repair_service.bpmn"]


def test_the_other_owner_sees_who_is_editing_and_when_they_saved(owners: Web) -> None:
    first, second = owners.client("owner1"), owners.client("owner2")
    at = clock.now()
    with clock.frozen_at(at):
        assert first.put(DRAFT, json={"files": files_of(first), "version": 1}).json["ok"]
    # owner2 only looks (no draft of their own): owner1 sees no one else, owner2 sees owner1.
    assert first.post("/modeler/api/repair_service/presence").json["others"] == []
    with clock.frozen_at(at + timedelta(minutes=3)):
        first.post("/modeler/api/repair_service/presence")  # owner1's open editor's heartbeat
        seen = second.post("/modeler/api/repair_service/presence").json["others"]
        assert [(o["author"], o["editing"], o["text"]) for o in seen] == [
            ("owner1", True, "蒋流程 正在编辑，3 分钟前保存")
        ]
        second.set_cookie("lang", "en")
        english = second.get(FILES).json["others"]
        assert english[0]["text"] == "蒋流程 is editing, saved 3 min ago"
    with clock.frozen_at(at + timedelta(minutes=30)):  # owner1's editor closed: no heartbeat since
        later = second.post("/modeler/api/repair_service/presence").json["others"]
        assert [(o["editing"], o["text"]) for o in later] == [(False, "蒋流程 has a draft, saved 30 min ago")]
        first.post("/modeler/api/repair_service/presence")  # the editor is open again
        assert second.post("/modeler/api/repair_service/presence").json["others"][0]["editing"] is True


@pytest.mark.parametrize(
    ("change", "zh", "en"),
    [
        (
            lambda f: with_dispatch_loop(f, "1001"),
            "实例数：1001 超过了多实例活动最多可创建的 1000 个实例。",
            "Cardinality: 1001 is more than the 1000 instances a multi-instance activity may create.",
        ),
        (
            lambda f: with_dispatch_loop(f, "__import__('os')"),
            "实例数 不是沙箱可运行的表达式",
            "Cardinality is not an expression the sandbox runs",
        ),
        (
            lambda f: {
                **f,
                "repair_service.bpmn": f["repair_service.bpmn"].replace(
                    'serviceTaskOperator id="product_lookup"', 'serviceTaskOperator id="product_lookups"'
                ),
            },
            "服务：没有名为“product_lookups”的服务",
            "Service: no service is called “product_lookups”",
        ),
        (
            lambda f: {
                **f,
                "repair_service.bpmn": f["repair_service.bpmn"].replace(
                    '<spiffworkflow:parameter id="serial_number"', '<spiffworkflow:parameter id="serial_no"'
                ),
            },
            "参数“serial_no”：服务 product_lookup 没有这个参数",
            "Parameter “serial_number”: the service product_lookup needs it.",
        ),
        (
            lambda f: {
                **f,
                "repair_service.bpmn": f["repair_service.bpmn"].replace(
                    '"customer_name": customer_name,', '"customer_name": customer_name +,', 1
                ),
            },
            "消息内容 不是沙箱可运行的表达式",
            "Message payload is not an expression the sandbox runs",
        ),
    ],
)
def test_a_draft_with_a_bad_setting_is_refused_with_the_message(
    owners: Web, change, zh: str, en: str
) -> None:
    client = owners.client("owner1")
    bad = change(files_of(client))
    refused = client.put(DRAFT, json={"files": bad, "version": 1})
    assert refused.status_code == 422 and refused.json["ok"] is False
    assert zh in refused.json["message"]
    assert any(zh in p["message"] for p in refused.json["problems"])
    assert client.get(FILES).json["source"] == "version"  # nothing was stored
    client.set_cookie("lang", "en")
    assert en in client.put(DRAFT, json={"files": bad, "version": 1}).json["message"]


def test_a_cardinality_within_the_cap_saves_and_a_deploy_reads_it(owners: Web) -> None:
    client = owners.client("owner1")
    files = with_dispatch_loop(files_of(client), "2")
    assert client.put(DRAFT, json={"files": files, "version": 1}).json["ok"]
    deployed = client.post(DEPLOY, json={"files": files, "change_summary": "派工两次"})
    assert deployed.status_code == 200, deployed.json
    with owners.engine.sessions() as db:
        spec = owners.engine.latest_definition(db, "repair_service")
    loaded = owners.engine.definitions.specs(spec).spec
    assert loaded.task_specs["task_dispatch"].cardinality == "2"


def test_deploying_over_a_version_deployed_after_my_draft_started_asks_first(owners: Web) -> None:
    first, second = owners.client("owner1"), owners.client("owner2")
    base = files_of(first)
    assert first.put(DRAFT, json={"files": renamed(base, "派工", "派工安排"), "version": 1}).json["ok"]
    with clock.frozen_at(clock.now() + timedelta(minutes=5)):
        assert (
            second.post(DEPLOY, json={"files": repair_v2(base), "change_summary": "备件确认"}).status_code
            == 200
        )
    with clock.frozen_at(clock.now() + timedelta(minutes=10)):
        mine = first.get(FILES).json["files"]
        held = first.post(DEPLOY, json={"files": mine, "change_summary": "改名"})
        assert held.status_code == 409 and held.json["ok"] is False
        assert [n["version"] for n in held.json["newer"]] == [2]
        assert "王工" in held.json["message"] and "版本 2" in held.json["message"]
        forced = first.post(DEPLOY, json={"files": mine, "change_summary": "改名", "over_newer": True})
        assert forced.status_code == 200 and forced.json["deployed"] == [["repair_service", 3]]
    assert first.get(FILES).json["source"] == "version"  # deployed from my draft: the draft is gone


def test_only_process_owners_reach_the_presence_heartbeat(owners: Web) -> None:
    assert owners.client("cs1").post("/modeler/api/repair_service/presence").status_code == 403
    assert owners.client("owner1").post("/modeler/api/no_such_process/presence").status_code == 404


def test_an_editor_open_without_a_saved_draft_is_shown_without_a_save_time(owners: Web) -> None:
    first, second = owners.client("owner1"), owners.client("owner2")
    at = clock.now()
    with clock.frozen_at(at):
        first.post("/modeler/api/repair_service/presence")  # owner1 opened the editor, saved nothing
        seen = second.post("/modeler/api/repair_service/presence").json["others"]
        assert [(o["author"], o["editing"], o["saved_at"], o["text"]) for o in seen] == [
            ("owner1", True, None, "蒋流程 正在查看/编辑")
        ]
        second.set_cookie("lang", "en")
        assert second.get(FILES).json["others"][0]["text"] == "蒋流程 is viewing or editing (not saved)"
        # Looking is not a draft: no draft to load, none in the library.
        assert first.get(FILES).json["source"] == "version"
        row = first.get("/modeler/").text
        row = row[row.index('<tr data-process="repair_service"') :]
        assert "draft-by" not in row[: row.index("</tr>")]
    with clock.frozen_at(at + timedelta(minutes=5)):  # the editor closed: no heartbeat since
        assert second.post("/modeler/api/repair_service/presence").json["others"] == []
        saved = first.put(DRAFT, json={"files": files_of(first), "version": 1}).json
        assert saved["ok"] and first.get(FILES).json["source"] == "draft"  # the first save is a draft
        seen = second.post("/modeler/api/repair_service/presence").json["others"]
        assert [(o["author"], o["text"]) for o in seen] == [("owner1", "蒋流程 is editing, saved just now")]
