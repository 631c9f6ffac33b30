"""The decision-table test panel over HTTP: the editor's table and typed inputs → matched rules → outputs."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.web.conftest import Web
from tests.web.test_web_modeler import owners  # noqa: F401  # the fixture

URL = "/modeler/api/decision-test"
POLICY = (ROOT / "diagrams" / "sla_policy.dmn").read_text(encoding="utf-8")
KEY_CUSTOMER = {"input_process": "repair", "input_stage": "response", "input_key": "key_customer"}


def test_the_panel_evaluates_the_unsaved_table(owners: Web) -> None:  # noqa: F811
    client = owners.client("owner1")
    cell = '<outputEntry id="rule_repair_response_key_customer_amount"><text>4</text></outputEntry>'
    draft = POLICY.replace(cell, cell.replace("<text>4</text>", "<text>3</text>"))

    answer = client.post(URL, json={"file": "sla_policy.dmn", "text": draft, "inputs": KEY_CUSTOMER})

    assert answer.status_code == 200
    data = answer.json
    assert data["ok"] and data["hit_policy"] == "FIRST"
    assert [r["id"] for r in data["matched"]] == [
        "rule_repair_response_key_customer",
        "rule_repair_response_default",
    ]
    assert [(r["id"], r["row"]) for r in data["chosen"]] == [("rule_repair_response_key_customer", 2)]
    assert data["outputs"] == {"sla_amount": 3, "sla_unit": "working_hours"}
    # Nothing was saved or deployed: the deployed table still says 4.
    deployed = client.get("/modeler/api/repair_service/files").json["files"]["sla_policy.dmn"]
    assert "".join(cell.split()) in "".join(deployed.split())


def test_problems_come_back_as_json_and_other_roles_get_403(owners: Web) -> None:  # noqa: F811
    client = owners.client("owner1")
    broken = POLICY.replace("<text>'emergency'</text>", "<text>'emergency</text>")
    answer = client.post(URL, json={"file": "sla_policy.dmn", "text": broken, "inputs": KEY_CUSTOMER}).json
    assert not answer["ok"] and answer["problems"][0]["element_id"] == "rule_repair_response_emergency"
    assert client.post(URL, json={"file": "../x.dmn", "text": POLICY}).status_code == 400
    assert client.post(URL, json={"file": "a.bpmn", "text": POLICY}).status_code == 400
    assert client.post(URL, data="x").status_code == 400
    assert owners.client("sup1").post(URL, json={"file": "sla_policy.dmn", "text": POLICY}).status_code == 403
