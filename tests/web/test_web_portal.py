"""The customers' self-service page /portal over HTTP: submit, follow, rate — and what it refuses.

A customer submits a repair request with the challenge answered and gets the case number and a
private status link; the request enters the repair process at customer service's registration,
pre-filled, with the photo attached. The status page shows stages in plain words and the promised
time, and nothing internal. Past the limit an address gets 429; a wrong answer, a bad field, a
photo too large or of the wrong kind change nothing. After the work is done the customer's
satisfaction card completes the follow-up step and reaches the KPIs.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import func, select

from engine import clock
from engine.accounts.users import Actor
from engine.store.models import Attachment, Event, ProcessInstance, Task
from processes.demo.signatures import signed_by
from processes.portal.intake import request_link_token
from processes.portal.models import PortalRequest
from tests.web.conftest import Web
from tests.web.portal_client import CUSTOMER_REQUEST, PNG, post_request, submitted

CS = Actor("cs1", frozenset({"customer_service"}))
SUP = Actor("sup1", frozenset({"service_supervisor"}))
TECH = Actor("tech1", frozenset({"technician"}))
#: What customer service adds when confirming the request: a contract in force (no invoice).
REGISTRATION = {
    **CUSTOMER_REQUEST,
    "channel": "web",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": "true",
    "cause": "normal",
}
CARD = {
    "rating_attitude": "very_satisfied",
    "rating_technique": "satisfied",
    "rating_arrival_time": "average",
    "rating_promises": "satisfied",
    "suggestions": "师傅很专业。",
}
INTERNAL_NOTE = "内部备注：该客户曾拖欠维修费"


def cases(web: Web) -> int:
    with web.engine.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def repair_cases(web: Web) -> int:
    with web.engine.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.process_key == "repair_service")
            )
            or 0
        )


def complete(web: Web, number: str, spec_id: str, data: dict[str, Any], actor: Actor) -> None:
    web.engine.complete(web.open_task(number, spec_id).id, data, actor)


def run_to_follow_up(web: Web, number: str) -> None:
    """Customer service registers the request, the technician repairs, the supervisor accepts."""
    complete(web, number, "task_register_portal", REGISTRATION, CS)
    complete(web, number, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete(web, number, "task_dispatch", {"technician": "tech1"}, SUP)
    complete(
        web, number, "task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH
    )
    complete(
        web,
        number,
        "task_repair",
        {
            "outcome": "fixed_on_site",
            "work_done": "更换电源板",
            "hours_spent": 2,
            "customer_signature": signed_by("王工"),
        },
        TECH,
    )
    complete(web, number, "task_acceptance", {"accepted": "yes"}, SUP)


# --- submitting ------------------------------------------------------------------------------------


def test_a_customer_submits_a_repair_and_customer_service_finds_it_pre_filled(web: Web) -> None:
    customer = web.app.test_client()
    assert customer.get("/portal/").status_code == 200  # no staff login
    done = submitted(post_request(customer, photos=[(PNG, "屏幕.png")]))

    assert re.fullmatch(r"RO-\d{8}-\d{4}", done.number)
    assert done.link == f"/portal/status/{done.token}"
    assert len(done.token) == 43  # an HMAC-SHA256, URL-safe
    with web.engine.sessions() as session:
        request = session.scalars(select(PortalRequest)).one()
        case = session.get(ProcessInstance, request.instance_id)
        assert case is not None and case.business_number == done.number
        assert case.started_by == "portal"
        # Only the key's hash is kept.
        assert request.token_hash == hashlib.sha256(done.token.encode()).hexdigest()
        assert done.token not in str(session.execute(select(PortalRequest.__table__)).all())
        (photo,) = session.scalars(select(Attachment)).all()
        assert (photo.filename, photo.content_type, photo.content) == ("屏幕.png", "image/png", PNG)
    # The server alone (with its secret key) can write the link again for a later notice.
    assert request_link_token(web.app.config["SECRET_KEY"], request) == done.token
    assert request_link_token("another-secret", request) != done.token

    # Customer service finds the registration step in the inbox, its form pre-filled.
    cs1 = web.client("cs1")
    task_id = web.task_id(cs1, done.number, "网上报修登记")
    (row,) = [r for r in web.rows(cs1, "offered") if r.task_id == task_id]
    assert row.customer == CUSTOMER_REQUEST["customer_name"]
    page = cs1.get(f"/tasks/{task_id}").text
    assert 'value="SN-PORTAL-01"' in web.field_block(page, "serial_number")
    assert "开机后屏幕闪烁" in web.field_block(page, "fault_description")
    assert 'value="web" selected' in web.field_block(page, "channel")
    assert "屏幕.png" in page  # the photo is on the step

    # Confirming the registration runs the normal repair process: the archive look-up, then 电话指导.
    cs1.post(f"/tasks/{task_id}", data=REGISTRATION)
    assert web.open_task(done.number, "task_remote_guidance").role == "customer_service"


def test_the_staff_forms_checks_apply_in_the_customers_language(web: Web) -> None:
    customer = web.app.test_client()
    response = post_request(customer, {**CUSTOMER_REQUEST, "customer_phone": "123", "product_model": ""})
    assert response.status_code == 422
    assert "此项为必填项" in web.field_block(response.text, "product_model")
    assert web.field_block(response.text, "customer_phone").count('class="error"') == 1
    assert 'value="华东人民医院设备科"' in web.field_block(response.text, "customer_name")  # kept
    customer.post("/language", data={"lang": "en"})
    english = post_request(customer, {**CUSTOMER_REQUEST, "product_model": ""})
    assert english.status_code == 422
    assert "This field is required" in web.field_block(english.text, "product_model")
    assert repair_cases(web) == 0


def test_a_wrong_answer_to_the_challenge_changes_nothing(web: Web) -> None:
    customer = web.app.test_client()
    before = cases(web)
    response = post_request(customer, answer="1000")
    assert response.status_code == 422
    assert "问题的答案不对" in response.text
    assert 'value="SN-PORTAL-01"' in web.field_block(response.text, "serial_number")  # kept for the retry
    forged = customer.post(
        "/portal/request/repair",
        data={**CUSTOMER_REQUEST, "challenge_token": "a.b.c", "challenge_answer": "4"},
    )
    assert forged.status_code == 422
    assert cases(web) == before
    with web.engine.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PortalRequest)) == 0


def test_a_huge_upload_and_files_that_are_no_photos_are_refused(web: Web) -> None:
    customer = web.app.test_client()
    before = cases(web)
    too_large = post_request(customer, photos=[(PNG + b"\0" * (5 * 1024 * 1024), "big.png")])
    assert too_large.status_code == 422
    assert "big.png" in too_large.text and "5 MB" in too_large.text
    not_a_photo = post_request(customer, photos=[(b"%PDF-1.4 not an image", "scan.png")])
    assert not_a_photo.status_code == 422 and "scan.png" in not_a_photo.text
    too_many = post_request(customer, photos=[(PNG, f"{i}.png") for i in range(4)])
    assert too_many.status_code == 422
    # A request larger than the app accepts is cut off before it is read.
    huge = post_request(customer, photos=[(PNG + b"\0" * (11 * 1024 * 1024), "huge.png")])
    assert huge.status_code == 413
    assert cases(web) == before
    with web.engine.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


# --- the status link -----------------------------------------------------------------------------


def test_the_status_link_shows_the_stages_and_the_promise_and_a_wrong_key_is_404(web: Web) -> None:
    customer = web.app.test_client()
    done = submitted(post_request(customer))
    page = customer.get(done.link)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert done.number in page.text
    stages = re.findall(r'class="stage (\w+)" data-stage="(\w+)"', page.text)
    assert stages[:3] == [("done", "received"), ("current", "registration"), ("pending", "diagnosis")]
    assert "客服正在核对您的申请" in page.text
    due = web.open_task(done.number, "task_register_portal").due_at
    assert due is not None and due > clock.now()
    shanghai = due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert shanghai.strftime("%Y-%m-%d %H:%M") in re.search(r'id="promise">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]

    assert customer.get(f"/portal/status/{done.token[:-1]}x").status_code == 404
    assert customer.get("/portal/status/" + "a" * 43).status_code == 404
    assert customer.get("/portal/status/" + "a" * 500).status_code == 404
    assert web.app.test_client().get(done.link).status_code == 200  # the link alone opens it
    english = web.app.test_client()
    english.post("/language", data={"lang": "en"})
    english_page = english.get(done.link).text
    assert (
        "Customer service checks your request" in english_page
        and "We will take the next step by" in english_page
    )

    # Once registered, the stage moves on.
    complete(web, done.number, "task_register_portal", REGISTRATION, CS)
    stages = re.findall(r'class="stage (\w+)" data-stage="(\w+)"', customer.get(done.link).text)
    assert ("current", "diagnosis") in stages and ("done", "registration") in stages


def test_the_status_page_never_shows_internal_data(web: Web) -> None:
    customer, other = web.app.test_client(), web.app.test_client()
    done = submitted(post_request(customer))
    theirs = submitted(
        post_request(
            other, {**CUSTOMER_REQUEST, "customer_name": "另一家医院", "customer_phone": "010-8888-7777"}
        )
    )
    cs1 = web.client("cs1")
    task_id = web.open_task(done.number, "task_register_portal").id
    assert cs1.post(f"/tasks/{task_id}/comments", data={"body": INTERNAL_NOTE}).status_code == 302
    complete(web, done.number, "task_register_portal", REGISTRATION, CS)
    complete(
        web,
        done.number,
        "task_remote_guidance",
        {"solved_by_phone": "no", "guidance_notes": INTERNAL_NOTE},
        CS,
    )
    complete(web, done.number, "task_dispatch", {"technician": "tech1", "dispatch_notes": INTERNAL_NOTE}, SUP)

    page = customer.get(done.link).text
    assert ("current", "technician") in re.findall(r'class="stage (\w+)" data-stage="(\w+)"', page)
    for internal in (
        INTERNAL_NOTE,
        "内部备注",
        "王客服",
        "李主任",
        "张工",
        "cs1",
        "sup1",
        "tech1",
        "网上报修登记",
        "到达现场",
        "派工",
        "task_",
        "sla_",
        "dispatch_notes",
        "另一家医院",
        "010-8888-7777",
        theirs.number,
        "021-5555-0199",  # not even the customer's own phone number is echoed
    ):
        assert internal not in page, internal
    assert "/tasks/" not in page and "/manage" not in page
    shown = " ".join(re.sub(r"<[^>]+>", " ", page).split())  # the words on the screen
    for variable in ("technician", "fault_description", "customer_name", "urgency", "portal"):
        assert variable not in shown, variable


def test_past_the_limit_an_address_gets_429(web: Web, make_app: Any) -> None:
    app = make_app(
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        AFTERFLOW_PORTAL_SUBMITS_PER_HOUR=2,
        AFTERFLOW_PORTAL_VIEWS_PER_HOUR=6,
    )
    customer = app.test_client()
    first = submitted(post_request(customer))  # submission 1 (and view 1: the form)
    assert post_request(customer, answer="0").status_code == 422  # submission 2 counts too
    third = post_request(customer)  # views 3 (form), submission 3: over the limit
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) > 0
    assert "请求过多" in third.text
    assert repair_cases(web) == 1
    # Viewing has its own limit: views 4 to 6 pass, the 7th is refused, even with the right link.
    statuses = [customer.get(first.link).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another address is not affected.
    assert customer.get(first.link, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


# --- the satisfaction card -----------------------------------------------------------------------


def test_the_satisfaction_card_completes_the_follow_up_and_reaches_the_kpis(web: Web) -> None:
    customer = web.app.test_client()
    done = submitted(post_request(customer))
    assert 'id="rating-form"' not in customer.get(done.link).text  # not before the work is done
    refused = customer.post(f"{done.link}/rating", data=CARD)
    assert refused.status_code == 409
    run_to_follow_up(web, done.number)

    # While customer service holds the follow-up (calling the customer), the card is theirs.
    follow_up = web.open_task(done.number, "task_follow_up")
    web.engine.claim(follow_up.id, CS)
    assert 'id="rating-form"' not in customer.get(done.link).text
    assert customer.post(f"{done.link}/rating", data=CARD).status_code == 409
    web.engine.unclaim(follow_up.id, CS)

    page = customer.get(done.link).text
    assert ("current", "rating") in re.findall(r'class="stage (\w+)" data-stage="(\w+)"', page)
    card = page[page.index('id="rating-form"') :]
    for label in ("服务态度", "技术水平", "到达时间", "答应事情的办理", "非常满意", "不满意"):
        assert label in card
    missing = customer.post(f"{done.link}/rating", data={**CARD, "rating_promises": ""})
    assert missing.status_code == 422
    assert "此项为必填项" in web.field_block(missing.text, "rating_promises")

    rated = customer.post(f"{done.link}/rating", data=CARD)
    assert rated.status_code == 200
    assert 'id="rating-thanks"' in rated.text
    assert all(
        state == "done" for state, _ in re.findall(r'class="stage (\w+)" data-stage="(\w+)"', rated.text)
    )
    with web.engine.sessions() as session:
        follow_up = session.scalar(select(Task).where(Task.spec_id == "task_follow_up"))
        assert follow_up is not None and (follow_up.state, follow_up.completed_by) == ("completed", "portal")
        completed = session.scalar(
            select(Event.data).where(Event.action == "task_completed", Event.element_id == "task_follow_up")
        )
        case = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == done.number))
        assert case is not None and case.status == "completed"
    assert completed is not None and "师傅很专业。" in str(completed)
    assert customer.post(f"{done.link}/rating", data=CARD).status_code == 409  # once only

    kpis = web.client("sup1").get("/manage/kpis").text
    satisfaction = re.search(r'id="kpi-satisfaction".*?<span class="kpi-detail">([^<]*)<', kpis, re.S)
    assert satisfaction is not None and satisfaction.group(1).startswith("3 / 4")
    criteria = kpis[kpis.index('id="kpi-criteria-table"') :]
    assert re.search(r"<th>到达时间</th><td>0.0% \(0/1\)</td>", criteria)
    assert re.search(r"<th>服务态度</th><td>100.0% \(1/1\)</td>", criteria)


# --- complaints ----------------------------------------------------------------------------------

COMPLAINT = {
    "customer_name": "协和医院",
    "customer_phone": "010-69156114",
    "product_model": "PM-9000",
    "serial_number": "SN-2026-0815",
    "complaint_text": "返修后的监护仪仍间歇性黑屏",
    "customer_request": "更换整机",
}


def test_a_complaint_enters_the_complaint_process_at_sales_registration(web: Web) -> None:
    from tests.conftest import COMPLAINT_RECEIVED

    customer = web.app.test_client()
    assert 'href="/portal/request/complaint"' in customer.get("/portal/").text
    form = customer.get("/portal/request/complaint").text
    assert (
        "我要投诉" in form
        and 'data-field="complaint_text"' in form
        and 'data-field="order_number"' not in form
    )
    empty = post_request(customer, {**COMPLAINT, "complaint_text": ""}, path="/portal/request/complaint")
    assert empty.status_code == 422 and "此项为必填项" in web.field_block(empty.text, "complaint_text")

    done = submitted(post_request(customer, COMPLAINT, path="/portal/request/complaint"))
    assert re.fullmatch(r"CP-\d{8}-\d{4}", done.number)
    register = web.open_task(done.number, "task_register_portal")
    assert register.role == "sales" and register.due_at is not None
    assert register.draft is not None and register.draft["receive_channel"] == "web"
    assert register.draft["complaint_text"] == COMPLAINT["complaint_text"]
    page = customer.get(done.link).text
    assert ("current", "registration") in re.findall(r'class="stage (\w+)" data-stage="(\w+)"', page)

    sales = Actor("sales1", frozenset({"sales"}))
    complete(
        web,
        done.number,
        "task_register_portal",
        {**COMPLAINT_RECEIVED, **COMPLAINT, "receive_channel": "web"},
        sales,
    )
    page = customer.get(done.link).text
    assert ("current", "first_response") in re.findall(r'class="stage (\w+)" data-stage="(\w+)"', page)
    assert "我们就您的投诉与您联系" in page
    assert 'id="rating-form"' not in page


def test_a_fault_solved_by_phone_skips_the_technicians_stages(web: Web) -> None:
    customer = web.app.test_client()
    done = submitted(post_request(customer))
    complete(web, done.number, "task_register_portal", REGISTRATION, CS)
    complete(
        web, done.number, "task_remote_guidance", {"solved_by_phone": "yes", "guidance_notes": "重启即可"}, CS
    )
    stages = re.findall(r'class="stage (\w+)" data-stage="(\w+)"', customer.get(done.link).text)
    assert stages == [
        ("done", "received"),
        ("done", "registration"),
        ("done", "diagnosis"),
        ("current", "rating"),
        ("pending", "closed"),
    ]


def test_a_submitted_request_queues_the_customers_received_notice_with_the_status_link(
    web: Web, monkeypatch: Any
) -> None:
    from engine.outbox.models import Notification

    monkeypatch.setenv("AFTERFLOW_CUSTOMER_NOTICES", "sms")
    # A landline reaches nobody by text message: the customer left a mobile number.
    done = submitted(
        post_request(web.app.test_client(), {**CUSTOMER_REQUEST, "customer_phone": "139 1234 5678"})
    )
    with web.engine.sessions() as session:
        (notice,) = session.scalars(
            select(Notification).where(Notification.kind.startswith("customer_"))
        ).all()
    assert (notice.kind, notice.medium, notice.recipient) == (
        "customer_received",
        "customer_sms",
        "13912345678",
    )
    assert notice.params["business_number"] == done.number
    assert notice.params["link"].endswith(done.link)
