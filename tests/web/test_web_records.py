"""The archives in the browser over HTTP: customers, products, the sales ledger and its upload, pickers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine import clock
from engine.accounts import users
from engine.accounts.users import create_user
from engine.runtime import Engine
from engine.store.models import Event, ProcessInstance, User
from processes.demo.records import load_demo_records
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import (
    Customer,
    CustomerVisit,
    MaintenanceContract,
    Product,
    SalesLedgerEntry,
)
from processes.roles import ROLE_KEYS
from tests.web.conftest import Seed, Web

HEADER = [
    "产品名称",
    "规格型号",
    "数量",
    "单价",
    "金额",
    "批号/序列号",
    "有效期",
    "销售日期",
    "购货单位",
    "单据号",
]
NDJSON = {"Accept": "application/x-ndjson"}


def ledger_rows(count: int, bad_row: int | None = None) -> list[list[Any]]:
    """``count`` good ledger lines (four purchasers); line ``bad_row`` (1-based) has a bad quantity."""
    rows: list[list[Any]] = [HEADER]
    for n in range(1, count + 1):
        quantity = "很多" if n == bad_row else str(n % 50 + 1)
        rows.append(
            [
                "阿莫西林胶囊" if n % 2 else "输液泵",
                "0.25g×24粒",
                quantity,
                "2.00",
                f"{2 * (n % 50 + 1)}.00" if n != bad_row else "",
                f"LOT-{n % 7:03d}",
                "2028-01-31",
                f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                f"测试购货单位{n % 4}",
                f"XS-{n}",
            ]
        )
    return rows


def csv_bytes(rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ledger_count(engine: Engine) -> int:
    with engine.sessions() as session:
        return session.scalar(select(func.count()).select_from(SalesLedgerEntry)) or 0


def stream(response: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line.strip()]


@pytest.fixture
def archive(web: Web, demo_password_hash: str) -> Web:
    """The demo records, and the billing clerk, the general manager and the process owner."""
    with pytest.MonkeyPatch.context() as patch, web.engine.writer.begin() as session:
        patch.setattr(users, "hash_password", lambda _p: demo_password_hash)
        for username, display_name, roles in DEMO_USERS:
            exists = session.scalar(select(User.id).where(User.username == username)) is not None
            if username in ("bill1", "gm1", "owner1", "wh1", "sales1") and not exists:
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
        load_demo_records(session)
    return web


def demo_customer(web: Web, name: str = "上海申江第一人民医院") -> Customer:
    with web.engine.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.name == name))
        assert customer is not None
        return customer


# --- who may open what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "customers", "ledger"),
    [
        ("cs1", 200, 403),
        ("sales1", 200, 403),
        ("sup1", 200, 200),
        ("gm1", 200, 200),
        ("owner1", 200, 200),
        ("bill1", 403, 200),
        ("tech1", 403, 403),
        ("wh1", 403, 403),
    ],
)
def test_each_role_sees_the_archives_its_work_needs(
    archive: Web, user: str, customers: int, ledger: int
) -> None:
    client = archive.client(user)
    assert client.get("/customers").status_code == customers
    assert client.get("/products").status_code == customers
    assert client.get("/records/pick/customers?q=医院").status_code == customers
    assert client.get("/ledger").status_code == ledger


def test_visitors_are_sent_to_log_in(archive: Web) -> None:
    for page in ("/customers", "/products", "/ledger", "/records/pick/customers"):
        response = archive.client().get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_only_the_billing_clerk_and_managers_import_ledger_files(archive: Web) -> None:
    before = ledger_count(archive.engine)
    for user in ("owner1", "cs1", "tech1"):
        data = {"file": (io.BytesIO(csv_bytes(ledger_rows(2))), "ledger.csv")}
        assert archive.client(user).post("/ledger/import", data=data).status_code == 403
    assert ledger_count(archive.engine) == before
    assert 'id="ledger-import"' not in archive.client("owner1").get("/ledger").text
    assert 'id="ledger-import"' in archive.client("bill1").get("/ledger").text


# --- customers and products -------------------------------------------------------------------------


def test_customer_search_finds_by_name_and_phone(archive: Web) -> None:
    client = archive.client("cs1")
    page = client.get("/customers", query_string={"q": "东明"}).text
    assert "浦东新区东明中心医院" in page and "上海申江第一人民医院" not in page
    by_phone = client.get("/customers", query_string={"q": "021-64369181"}).text
    assert "上海申江第一人民医院" in by_phone and "浦东新区东明中心医院" not in by_phone


def test_a_customer_page_shows_products_cases_complaints_ratings_and_contracts(archive: Web) -> None:
    customer = demo_customer(archive)
    client = archive.client("cs1")
    number = archive.start_repair(client, customer_name=customer.name, product_model="PM-9000")
    archive.seed(Seed("CP-20260301-0001", customer=customer.name, process="complaint"))
    sup = archive.client("sup1")
    page = sup.get(f"/customers/{customer.id}")
    assert page.status_code == 200
    html = page.text
    products = html.split('id="customer-products"')[1].split("</table>")[0]
    assert "SN-PM9-2401001" in products and "PM-9000" in products
    cases = html.split('id="customer-cases"')[1].split("</table>")[0]
    assert number in cases and "CP-20260301-0001" not in cases
    assert 'href="/manage/cases/' in cases  # managers open the case from here
    complaints = html.split('id="customer-complaints"')[1].split("</table>")[0]
    assert "CP-20260301-0001" in complaints
    contracts = html.split('id="customer-contracts"')[1].split("</table>")[0]
    assert "WB-DEMO-001" in contracts
    assert 'id="customer-ratings"' in html
    # customer service reads the same page without links into the managers' pages
    assert "/manage/cases/" not in client.get(f"/customers/{customer.id}").text


def test_a_customer_page_lists_the_ratings_of_its_follow_up_visits(archive: Web) -> None:
    customer = demo_customer(archive)
    number = archive.start_repair(archive.client("cs1"), customer_name=customer.name)
    with archive.engine.writer.begin() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == number))
        assert instance is not None
        session.add(
            Event(
                instance_id=instance.id,
                element_id="task_follow_up",
                actor="cs1",
                action="task_completed",
                at=clock.now(),
                data={"data": {"rating_attitude": "very_satisfied", "rating_technique": "unsatisfied"}},
            )
        )
    html = archive.client("sup1").get(f"/customers/{customer.id}").text
    ratings = html.split('id="customer-ratings"')[1].split("</table>")[0]
    assert number in ratings
    assert "非常满意" in ratings and "不满意" in ratings
    assert "very_satisfied" not in ratings


def test_customer_service_marks_a_fixed_point_unit_on_the_customer_page(archive: Web) -> None:
    customer = demo_customer(archive)
    client = archive.client("cs1")
    page = client.get(f"/customers/{customer.id}").text
    assert 'id="customer-classes"' in page and "定点单位（每月服务）" in page
    response = client.post(
        f"/customers/{customer.id}/classes", data={"fixed_point_unit": "on", "key_customer": "on"}
    )
    assert response.status_code == 302
    with archive.engine.sessions() as session:
        saved = session.get(Customer, customer.id)
        assert saved is not None and saved.fixed_point_unit and saved.key_customer
    heading = client.get(f"/customers/{customer.id}").text.split('id="customer-name"')[1].split("</h1>")[0]
    assert "定点单位" in heading and "重点客户" in heading
    client.post(f"/customers/{customer.id}/classes", data={"key_customer": "on"})  # unticked: no longer
    with archive.engine.sessions() as session:
        saved = session.get(Customer, customer.id)
        assert saved is not None and not saved.fixed_point_unit and saved.key_customer


def test_a_new_customer_may_be_added_as_a_fixed_point_unit(archive: Web) -> None:
    client = archive.client("sales1")
    response = client.post("/customers", data={"name": "新定点诊所", "fixed_point_unit": "on"})
    assert response.status_code == 302
    with archive.engine.sessions() as session:
        added = session.scalar(select(Customer).where(Customer.name == "新定点诊所"))
        assert added is not None and added.fixed_point_unit and not added.key_customer


def test_only_archive_editors_change_a_customers_classes(archive: Web) -> None:
    customer = demo_customer(archive)
    assert 'id="customer-classes"' not in archive.client("owner1").get(f"/customers/{customer.id}").text
    assert (
        archive.client("owner1")
        .post(f"/customers/{customer.id}/classes", data={"fixed_point_unit": "on"})
        .status_code
        == 403
    )
    assert (
        archive.client("tech1")
        .post(f"/customers/{customer.id}/classes", data={"fixed_point_unit": "on"})
        .status_code
        == 403
    )
    assert (
        archive.client("cs1").post("/customers/999999/classes", data={"fixed_point_unit": "on"}).status_code
        == 404
    )
    with archive.engine.sessions() as session:
        saved = session.get(Customer, customer.id)
        assert saved is not None and not saved.fixed_point_unit


def test_a_customer_page_keeps_its_call_backs_and_fixed_point_visits(archive: Web) -> None:
    customer = demo_customer(archive)
    number = archive.start_repair(archive.client("cs1"), customer_name=customer.name)
    with archive.engine.writer.begin() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == number))
        assert instance is not None
        session.add(
            CustomerVisit(
                customer_id=customer.id,
                instance_id=instance.id,
                kind="call_back",
                summary="每月电话回访；受访人：设备科王主任；质量跟踪：无质量问题",
                recorded_at=clock.now(),
            )
        )
    html = archive.client("cs1").get(f"/customers/{customer.id}").text
    visits = html.split('id="customer-visits"')[1].split("</table>")[0]
    assert number in visits and "设备科王主任" in visits


def test_an_unknown_customer_or_product_is_404(archive: Web) -> None:
    client = archive.client("sup1")
    assert client.get("/customers/999999").status_code == 404
    assert client.get("/products/999999").status_code == 404


def test_customer_service_adds_a_customer_and_a_duplicate_changes_nothing(archive: Web) -> None:
    client = archive.client("cs1")
    response = client.post(
        "/customers", data={"name": "新客户诊所", "phone": "021-1234", "address": "某路 1 号"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert "新客户诊所" in page and "021-1234" in page
    again = client.post("/customers", data={"name": "新客户诊所", "phone": "999"})
    assert again.status_code == 422 and "已存在同名客户" in again.text
    blank = client.post("/customers", data={"name": "  "})
    assert blank.status_code == 422
    with archive.engine.sessions() as session:
        assert session.scalar(select(Customer.phone).where(Customer.name == "新客户诊所")) == "021-1234"
    english = archive.client("cs1")
    english.post("/language", data={"lang": "en"})
    assert (
        "A customer of this name exists already."
        in english.post("/customers", data={"name": "新客户诊所"}).text
    )


def test_products_search_and_a_product_page_shows_its_service_history(archive: Web) -> None:
    client = archive.client("sup1")
    listing = client.get("/products", query_string={"q": "VT-600"}).text
    assert "SN-VT6-2303011" in listing and "SN-PM9-2401001" not in listing
    with archive.engine.sessions() as session:
        product = session.scalar(select(Product).where(Product.serial_number == "SN-DU3-2310031"))
        assert product is not None and product.customer is not None
        customer_name, model, product_id = product.customer.name, product.model, product.id
    number = archive.start_repair(archive.client("cs1"), customer_name=customer_name, product_model=model)
    page = client.get(f"/products/{product_id}").text
    history = page.split('id="service-history"')[1].split("</table>")[0]
    assert number in history
    assert "WB-DEMO-002" in page  # the contract covering this unit


# --- the ledger -------------------------------------------------------------------------------------------


def test_the_ledger_filters_by_product_batch_purchaser_and_date(archive: Web) -> None:
    with archive.engine.writer.begin() as session:
        session.query(SalesLedgerEntry).delete()
    response = archive.client("bill1").post(
        "/ledger/import", data={"file": (io.BytesIO(csv_bytes(ledger_rows(40))), "ledger.csv")}
    )
    assert response.status_code == 200
    client = archive.client("bill1")

    def count(**args: str) -> int:
        html = client.get("/ledger", query_string=args).text
        body = html.split('id="ledger"')[1].split("</table>")[0]
        return body.count("<tr><td>")  # lines (the heading has <th>, "none" a colspan cell)

    assert count() == 40
    assert count(product="输液泵") == 20
    assert count(batch="LOT-003") == len([n for n in range(1, 41) if n % 7 == 3])
    assert count(purchaser="测试购货单位1") == 10
    assert count(sold_from="2026-03-01", sold_to="2026-03-31") == len(
        [n for n in range(1, 41) if n % 12 == 2]
    )
    assert count(product="输液泵", purchaser="测试购货单位1") == 0  # odd rows are the capsules


def test_a_20000_row_csv_imports_with_progress_streamed(archive: Web) -> None:
    before = ledger_count(archive.engine)
    response = archive.client("bill1").post(
        "/ledger/import",
        data={"file": (io.BytesIO(csv_bytes(ledger_rows(20_000))), "big.csv")},
        headers=NDJSON,
    )
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = stream(response)
    checking = [line["done"] for line in lines if line.get("stage") == "checking"]
    storing = [(line["done"], line["total"]) for line in lines if line.get("stage") == "storing"]
    assert checking[:3] == [1000, 2000, 3000] and checking[-1] == 20_000
    assert storing[-1] == (20_000, 20_000) and len(storing) > 10
    assert lines[-1]["result"] == "imported" and lines[-1]["imported"] == 20_000
    assert "20000" in lines[-1]["message"]
    assert ledger_count(archive.engine) == before + 20_000


def test_an_xlsx_file_imports_from_the_page(archive: Web) -> None:
    before = ledger_count(archive.engine)
    response = archive.client("gm1").post(
        "/ledger/import",
        data={"file": (io.BytesIO(xlsx_bytes(ledger_rows(25))), "账本.xlsx")},
        headers=NDJSON,
    )
    assert stream(response)[-1]["imported"] == 25
    assert ledger_count(archive.engine) == before + 25


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(archive: Web) -> None:
    before = ledger_count(archive.engine)
    rows = ledger_rows(3000, bad_row=2500)
    response = archive.client("bill1").post(
        "/ledger/import", data={"file": (io.BytesIO(csv_bytes(rows)), "bad.csv")}, headers=NDJSON
    )
    outcome = stream(response)[-1]
    assert outcome["result"] == "refused"
    assert "未导入任何记录" in outcome["message"]
    assert [e["row"] for e in outcome["errors"]] == [2501]  # the spreadsheet's row, header being row 1
    assert outcome["errors"][0]["message"].startswith("第 2501 行")
    assert ledger_count(archive.engine) == before
    with archive.engine.sessions() as session:
        assert session.scalar(select(Customer).where(Customer.name == "测试购货单位1")) is None


def test_a_plain_form_post_lists_the_bad_row_on_the_page_in_english(archive: Web) -> None:
    before = ledger_count(archive.engine)
    client = archive.client("bill1")
    client.post("/language", data={"lang": "en"})
    response = client.post(
        "/ledger/import", data={"file": (io.BytesIO(csv_bytes(ledger_rows(5, bad_row=3))), "bad.csv")}
    )
    assert response.status_code == 422
    errors = response.text.split('id="import-errors"')[1].split("</ol>")[0]
    assert 'data-row="4"' in errors and "row 4" in errors
    assert "Nothing was imported" in response.text
    assert ledger_count(archive.engine) == before


def test_a_file_that_is_not_csv_or_xlsx_is_refused(archive: Web) -> None:
    client = archive.client("bill1")
    response = client.post("/ledger/import", data={"file": (io.BytesIO(b"x"), "ledger.xls")}, headers=NDJSON)
    assert response.status_code == 422 and "CSV" in stream(response)[-1]["message"]
    assert client.post("/ledger/import", data={}).status_code == 422


# --- pickers for the registration forms -------------------------------------------------------------


def test_the_customer_picker_answers_matching_customers_with_the_fields_to_fill(archive: Web) -> None:
    answer = archive.client("cs1").get("/records/pick/customers", query_string={"q": "申江"}).get_json()
    assert answer["total"] == 1
    item = answer["items"][0]
    assert item["label"] == "上海申江第一人民医院"
    assert item["fields"]["customer_name"] == "上海申江第一人民医院"
    assert item["fields"]["customer_phone"] == "021-64369181"
    assert item["fields"]["customer_address"] == "上海市徐汇区宜山路 600 号"


def test_the_product_picker_fills_model_serial_warranty_and_contract(archive: Web) -> None:
    customer = demo_customer(archive)
    client = archive.client("cs1")
    answer = client.get("/records/pick/products", query_string={"q": "SN-PM9-2401001"}).get_json()
    item = answer["items"][0]
    assert item["fields"]["product_model"] == "PM-9000"
    assert item["fields"]["serial_number"] == "SN-PM9-2401001"
    assert item["fields"]["warranty_end"]
    with archive.engine.sessions() as session:
        in_force = session.scalar(
            select(func.count())
            .select_from(MaintenanceContract)
            .where(MaintenanceContract.customer_id == customer.id)
        )
    assert in_force and item["fields"]["contract_in_force"] is True  # WB-DEMO-001 covers every device
    assert item["customer"]["fields"]["customer_name"] == customer.name
    only_theirs = client.get("/records/pick/products", query_string={"customer": customer.id}).get_json()
    assert only_theirs["total"] == 3 and all(p["customer"]["id"] == customer.id for p in only_theirs["items"])


def test_a_new_customer_is_added_from_the_registration_form(archive: Web) -> None:
    client = archive.client("cs1")
    created = client.post(
        "/records/pick/customers", data={"name": "临时新增诊所", "phone": "010-1", "address": "北京"}
    )
    assert created.status_code == 201
    assert created.get_json()["fields"]["customer_phone"] == "010-1"
    duplicate = client.post("/records/pick/customers", data={"name": "临时新增诊所"})
    assert duplicate.status_code == 422 and duplicate.get_json()["error"] == "已存在同名客户。"
    assert archive.client("tech1").post("/records/pick/customers", data={"name": "x"}).status_code == 403


def test_the_start_forms_offer_the_pickers_without_inline_script(archive: Web) -> None:
    html = archive.client("cs1").get("/start/repair_service").text
    assert 'data-pick-customers="/records/pick/customers"' in html
    assert 'data-customer-fields="customer_name"' in html
    assert 'data-product-fields="product_model serial_number"' in html
    assert 'data-add-customer="/records/pick/customers"' in html
    assert "<script>" not in html and "pickers.js" in html
    complaint = archive.client("sales1").get("/start/complaint").text  # sales registers complaints too
    assert 'data-customer-fields="customer_name"' in complaint
    assert 'data-product-fields="product_model serial_number"' in complaint
