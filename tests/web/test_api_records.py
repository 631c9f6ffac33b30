"""Records and KPIs over the API: read, create a customer, import a ledger file, the KPI figures."""

from __future__ import annotations

import io
from pathlib import Path

from tests.web.api_client import Api
from tests.web.conftest import Web

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger" / "sample_ledger.csv"


def test_import_a_ledger_then_read_and_search_it(api: Api) -> None:
    sup1, cs1 = api.token("sup1"), api.token("cs1")
    refused = api.client.post(
        "/api/v1/records/ledger/imports",
        headers=api.headers(cs1),
        data={"file": (io.BytesIO(SAMPLE.read_bytes()), "ledger.csv")},
    )
    assert refused.status_code == 403
    broken = api.client.post(
        "/api/v1/records/ledger/imports",
        headers=api.headers(sup1, "en"),
        data={"file": (io.BytesIO(b"nothing,useful\n1,2\n"), "ledger.csv")},
    )
    assert broken.status_code == 422 and broken.json["code"] == "ledger_invalid" and broken.json["errors"]
    assert api.client.get("/api/v1/records/ledger", headers=api.headers(cs1)).json["total"] == 0
    imported = api.client.post(
        "/api/v1/records/ledger/imports",
        headers=api.headers(sup1),
        data={"file": (io.BytesIO(SAMPLE.read_bytes()), "ledger.csv")},
    )
    assert imported.status_code == 201 and imported.json["imported"] > 0
    ledger = api.client.get("/api/v1/records/ledger?per_page=200", headers=api.headers(cs1)).json
    assert ledger["total"] == imported.json["imported"]
    batch = ledger["items"][0]["batch_number"]
    found = api.client.get(f"/api/v1/records/ledger?q={batch}", headers=api.headers(cs1)).json
    assert found["items"] and all(batch in line["batch_number"] for line in found["items"])
    customers = api.client.get("/api/v1/records/customers", headers=api.headers(cs1)).json
    assert customers["total"] >= imported.json["customers_created"] > 0


def test_create_a_customer_once(api: Api) -> None:
    sup1 = api.token("sup1")
    body = {"name": "华东精密机械有限公司", "phone": "021-5555-0101", "region": "华东"}
    assert (
        api.client.post(
            "/api/v1/records/customers", headers=api.headers(api.token("cs1")), json=body
        ).status_code
        == 403
    )
    created = api.client.post("/api/v1/records/customers", headers=api.headers(sup1), json=body)
    assert created.status_code == 201 and created.json["name"] == body["name"] and created.json["id"]
    again = api.client.post("/api/v1/records/customers", headers=api.headers(sup1), json=body)
    assert again.status_code == 409 and again.json["message"] == "已存在同名客户。"
    found = api.client.get("/api/v1/records/customers?q=华东精密", headers=api.headers(sup1)).json
    assert [c["phone"] for c in found["items"]] == ["021-5555-0101"]


def test_kpis_as_json_for_managers_only(api: Api, web: Web) -> None:
    web.start_repair(web.client("cs1"))
    assert api.client.get("/api/v1/kpis", headers=api.headers(api.token("cs1"))).status_code == 403
    board = api.client.get("/api/v1/kpis", headers=api.headers(api.token("sup1")))
    assert board.status_code == 200
    assert [k["name"] for k in board.json["kpis"]] == [
        "timeliness",
        "satisfaction",
        "complaint_rate",
        "closure",
    ]
    page = web.client("sup1").get("/manage/kpis")
    assert page.status_code == 200
