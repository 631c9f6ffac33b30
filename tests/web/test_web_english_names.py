"""English readers see processes, steps, timers and diagram labels in English; everyone sees people by name."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.store.models import ProcessDefinition, ProcessInstance
from tests.web.conftest import Web

CS = Actor("cs1", frozenset({"customer_service"}))


def english(web: Web, user: str) -> FlaskClient:
    client = web.client(user)
    client.post("/language", data={"lang": "en"})
    return client


def chinese_step_names(web: Web) -> set[str]:
    """Every process and step name of the deployed versions, as the diagrams name them in Chinese."""
    with web.engine.sessions() as session:
        names: set[str] = set()
        for definition in session.scalars(select(ProcessDefinition)):
            names.add(definition.name)
            names.update(definition.meta.get("elements", {}).values())
    return {name for name in names if re.search(r"[\u4e00-\u9fff]", name)}


def chinese_names_in(page: str, names: set[str]) -> set[str]:
    """The Chinese process or step names the page shows as text (not inside attribute values)."""
    text = re.sub(r"<[^>]+>", "\n", page)
    lines = {line.strip() for line in text.splitlines()}
    return {name for name in names if name in lines or f"{name} ·" in text}


def instance_id(web: Web, number: str) -> int:
    with web.engine.sessions() as session:
        found = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_number == number))
        assert found is not None
        return found


def test_the_inbox_names_processes_and_steps_in_english(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    html = english(web, "cs1").get("/", query_string={"tab": "offered"}).text
    row = html.split(number)[1].split("</tr>")[0]
    assert "Repair service" in row and "Phone guidance" in row
    assert "维修服务" not in row and "电话指导" not in row
    assert not chinese_names_in(html, chinese_step_names(web))
    filters = english(web, "cs1").get("/").text
    assert "Phone guidance" in filters and ">电话指导<" not in filters
    # Chinese readers keep the Chinese names
    assert "电话指导" in web.client("cs2").get("/", query_string={"tab": "offered"}).text


def test_the_task_page_and_its_diagram_are_in_english(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    task = web.open_task(number, "task_remote_guidance")
    client = english(web, "cs1")
    page = client.get(f"/tasks/{task.id}").text
    assert "<h1>Phone guidance</h1>" in page
    assert "Repair service" in page
    assert not chinese_names_in(page, chinese_step_names(web))
    url = re.search(r'data-bpmn-url="([^"]+)"', page)
    assert url is not None and "lang=en" in url.group(1)
    xml = client.get(url.group(1).replace("&amp;", "&")).text
    assert 'name="Phone guidance"' in xml and 'name="Response late"' in xml  # a step and its timer
    assert 'name="Solved by phone?"' in xml and 'name="Yes"' in xml  # a gateway and a flow's label
    assert 'name="电话指导"' not in xml
    chinese = web.client("cs2").get(f"/tasks/{task.id}/diagram.bpmn").text
    assert 'name="电话指导"' in chinese


def test_the_case_list_and_case_page_are_in_english(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    client = english(web, "sup1")
    listing = client.get("/manage/cases").text
    row = listing.split(number)[1].split("</tr>")[0]
    assert "Repair service" in row and "Dispatch" in row and "派工" not in row
    page = client.get(f"/manage/cases/{instance_id(web, number)}").text
    assert "Repair service" in page and "Dispatch" in page
    assert not chinese_names_in(page, chinese_step_names(web))
    xml = re.search(r'data-xml="([^"]*)"', page)
    assert xml is not None and 'name="Dispatch"' in html.unescape(xml.group(1))  # the diagram it carries
    assert 'name="Repair service"' in html.unescape(xml.group(1))


def test_people_are_shown_by_name_in_pickers_and_lists(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    dispatch = web.open_task(number, "task_dispatch")
    sup = web.client("sup1")
    form = web.field_block(sup.get(f"/tasks/{dispatch.id}").text, "technician")
    assert '<option value="tech1"' in form and "张工" in form
    assert ">tech1<" not in form
    web.engine.complete(
        dispatch.id, {"technician": "tech1"}, Actor("sup1", frozenset({"service_supervisor"}))
    )
    listing = sup.get("/manage/cases").text
    row = listing.split(number)[1].split("</tr>")[0]
    assert "张工" in row and "tech1" not in row
    page = sup.get(f"/manage/cases/{instance_id(web, number)}").text
    reassign = page.split('id="operations"')[1].split("</section>")[0]
    assert "张工" in reassign and ">tech1<" not in reassign
    data = page.split('id="case-data"')[1].split("</section>")[0]
    assert "张工" in data and ">tech1<" not in data
    team = sup.get("/", query_string={"tab": "team"}).text
    assert "张工" in team.split(number)[1].split("</tr>")[0]


def test_the_process_view_names_its_steps_and_diagram_in_english(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    with web.engine.sessions() as session:
        definition_id = session.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.process_key == "repair_service")
        )
    client = english(web, "sup1")
    assert "Repair service v" in client.get("/manage/processes").text
    page = client.get(f"/manage/processes/{definition_id}").text
    assert "<h1>Repair service v" in page
    assert re.search(r'<tr data-element="task_dispatch"><td>Dispatch</td>', page)
    assert "<td>派工</td>" not in page
    xml = re.search(r'data-xml="([^"]*)"', page)
    assert xml is not None and 'name="Acceptance"' in html.unescape(xml.group(1))


def test_the_technician_picked_at_dispatch_shows_by_name_in_the_case_facts(web: Web) -> None:
    _number, arrival = web.repair_at_arrival("tech1")

    page = web.client("tech1").get(f"/tasks/{arrival.id}").text

    found = re.search(r'<dd data-fact="technician">(.*?)</dd>', page, re.DOTALL)
    assert found and found.group(1).strip() == "张工", found and found.group(1)
