"""The inbox: tabs with counts, filters, sorting, paging, search, due-time marking, htmx and polling."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg
import pytest
from conftest import NOW, Seed
from sqlalchemy import event, update

from engine.accounts.users import Actor
from engine.store import queries, serialization
from engine.store.models import User

HOUR = timedelta(hours=1)
CS1 = Actor("cs1", frozenset({"customer_service"}))


def numbers(rows) -> list[str]:
    return [row.business_number for row in rows]


def tab_counts(html: str) -> dict[str, int]:
    """The count shown on each tab link."""
    found = re.findall(r'id="tab-(\w+)".*?data-count="(\d+)"', html, flags=re.DOTALL)
    return {tab: int(count) for tab, count in found}


@pytest.fixture
def mixed(web):
    """cs1's inbox: 3 assigned to it, 5 offered to its role, 2 done by it, and tasks it must not see."""
    web.freeze()
    web.seed(
        Seed("RO-M-1", assignee="cs1", due=NOW + 2 * HOUR),
        Seed("RO-M-2", assignee="cs1", due=NOW - 5 * HOUR),  # overdue
        Seed("RO-M-3", assignee="cs1", due=None),
        Seed("RO-O-1", due=NOW + 30 * HOUR, priority="emergency", customer="北方重工集团"),
        Seed("RO-O-2", due=NOW - 1 * HOUR, customer="南方医疗器械有限公司"),  # overdue
        Seed("RO-O-3", due=NOW + 3 * HOUR, priority="normal"),  # due today (13:00 Shanghai)
        Seed("RO-O-4", due=None, step=("task_follow_up", "回访")),
        Seed(
            "CP-O-5",
            due=NOW + 50 * HOUR,
            process="complaint",
            step=("task_intake_repair", "补全客户抱怨处理表"),
            priority=None,
            customer="Acme Trading Ltd.",
        ),
        Seed(
            "RO-D-1", state="completed", completed_by="cs1", completed_at=NOW - 3 * HOUR, due=NOW - 4 * HOUR
        ),
        Seed(
            "RO-D-2", state="completed", completed_by="cs1", completed_at=NOW - 2 * HOUR, due=NOW + 4 * HOUR
        ),
        # Not cs1's: another user's task, another role's task, a suspended case, someone else's done task.
        Seed("RO-X-1", assignee="cs2"),
        Seed("RO-X-2", role="service_supervisor", step=("task_dispatch", "派工")),
        Seed("RO-X-3", status="suspended"),
        Seed("RO-X-4", state="completed", completed_by="cs2", completed_at=NOW - HOUR),
    )
    return web


def test_each_tab_shows_its_tasks_and_every_tab_shows_its_count(mixed) -> None:
    cs1 = mixed.client("cs1")
    page = cs1.get("/").text
    assert tab_counts(page) == {"mine": 3, "offered": 5, "done": 2}  # no team tab for a clerk
    assert "分配给我" in page and "我的角色待认领" in page and "我已办理" in page
    assert numbers(mixed.rows(cs1, "mine")) == ["RO-M-2", "RO-M-1", "RO-M-3"]  # soonest due first, none last
    assert numbers(mixed.rows(cs1, "offered")) == ["RO-O-2", "RO-O-3", "RO-O-1", "CP-O-5", "RO-O-4"]
    assert numbers(mixed.rows(cs1, "done")) == ["RO-D-2", "RO-D-1"]  # latest completed first
    # The overdue counts are on the tabs too.
    assert re.search(r'id="tab-mine".*?1 项超时', page, flags=re.DOTALL)


def test_rows_show_case_process_step_customer_product_urgency_and_due(mixed) -> None:
    cs1 = mixed.client("cs1")
    rows = {r.business_number: r for r in mixed.rows(cs1, "offered")}
    assert rows["RO-O-1"].cells[:6] == [
        "RO-O-1",
        "维修服务",
        "电话指导",
        "北方重工集团",
        "HX-200 数控机床",
        "紧急",
    ]
    assert rows["RO-O-3"].cells[5] == "一般"  # the label of the form's option, not "normal"
    assert rows["CP-O-5"].cells[1] == "顾客投诉处理"
    assert rows["RO-O-1"].cells[6] == "2026-03-11 16:00"  # due in Shanghai time
    assert rows["RO-O-4"].cells[6] == "—"


def test_overdue_and_due_today_are_marked_in_words(mixed) -> None:
    html = mixed.client("cs1").get("/?tab=offered").text
    overdue = re.search(r'<tr data-task-id="[^"]+" class="overdue">.*?</tr>', html, flags=re.DOTALL)
    assert overdue and "RO-O-2" in overdue.group(0) and "已超时" in overdue.group(0)
    today = re.search(r'<tr data-task-id="[^"]+" class="today">.*?</tr>', html, flags=re.DOTALL)
    assert today and "RO-O-3" in today.group(0) and "今日到期" in today.group(0)
    assert html.count('class="overdue"') == 1 and html.count('class="today"') == 1
    done = mixed.client("cs1").get("/?tab=done").text
    late = re.search(r'<tr data-task-id="[^"]+" class="late">.*?</tr>', done, flags=re.DOTALL)
    assert late and "RO-D-1" in late.group(0) and "超时完成" in late.group(0)


def test_due_today_and_times_follow_the_users_timezone(web) -> None:
    # At 10:00 in Shanghai (02:00 UTC) it is 19:00 the day before in Los Angeles. A task due at
    # 16:00 Shanghai time is due today there, but at 01:00 tomorrow in Los Angeles.
    web.freeze()
    web.seed(Seed("RO-T-1", due=NOW + 6 * HOUR))
    shanghai = web.client("cs1")
    (row,) = web.rows(shanghai, "offered")
    assert row.cells[6] == "2026-03-10 16:00 今日到期"

    with web.engine.writer.begin() as session:
        session.execute(update(User).where(User.username == "cs1").values(timezone="America/Los_Angeles"))
    (row,) = web.rows(shanghai, "offered")  # the user's timezone applies from its next request
    assert row.cells[6] == "2026-03-10 01:00"


def test_filter_by_process_step_urgency_and_overdue(mixed) -> None:
    cs1 = mixed.client("cs1")
    assert numbers(mixed.rows(cs1, "offered", process="complaint")) == ["CP-O-5"]
    assert numbers(mixed.rows(cs1, "offered", step="task_follow_up")) == ["RO-O-4"]
    assert numbers(mixed.rows(cs1, "offered", urgency="emergency")) == ["RO-O-1"]
    assert numbers(mixed.rows(cs1, "offered", overdue="1")) == ["RO-O-2"]
    assert numbers(mixed.rows(cs1, "mine", overdue="1")) == ["RO-M-2"]
    assert numbers(mixed.rows(cs1, "done", overdue="1")) == ["RO-D-1"]  # done: completed after its due time
    assert numbers(mixed.rows(cs1, "offered", process="repair_service", urgency="normal")) == [
        "RO-O-2",
        "RO-O-3",
        "RO-O-4",
    ]
    page = cs1.get("/", query_string={"tab": "offered", "urgency": "emergency"}).text
    assert "1 项任务符合条件" in page
    assert tab_counts(page) == {"mine": 3, "offered": 5, "done": 2}  # the tabs keep their whole counts


def test_filters_offer_the_processes_steps_and_urgencies_of_the_users_roles_by_name(mixed) -> None:
    page = mixed.client("cs1").get("/?tab=offered").text
    process = re.search(r'<select id="filter-process".*?</select>', page, flags=re.DOTALL).group(0)
    assert '<option value="complaint">顾客投诉处理</option>' in process
    assert '<option value="repair_service">维修服务</option>' in process
    assert "recall" not in process and "sales_return" not in process  # no customer-service task in them
    step = re.search(r'<select id="filter-step".*?</select>', page, flags=re.DOTALL).group(0)
    assert '<option value="task_follow_up">回访 · 维修服务</option>' in step
    assert '<option value="task_intake_repair">补全客户抱怨处理表 · 顾客投诉处理</option>' in step
    assert "task_dispatch" not in step  # the supervisor's step
    urgency = re.search(r'<select id="filter-urgency".*?</select>', page, flags=re.DOTALL).group(0)
    assert '<option value="emergency">紧急</option>' in urgency
    assert '<option value="normal">一般</option>' in urgency
    assert "key_customer" not in urgency  # 重点客户 is a class of customer, not an urgency [001 4.1]
    # A supervisor, who sees all work, may filter by every step.
    supervisor = mixed.client("sup1").get("/?tab=team").text
    assert '<option value="task_dispatch">派工 · 维修服务</option>' in supervisor


def test_sort_by_due_time_both_ways_keeps_tasks_without_due_time_last(mixed) -> None:
    cs1 = mixed.client("cs1")
    assert numbers(mixed.rows(cs1, "offered", order="desc")) == [
        "CP-O-5",
        "RO-O-1",
        "RO-O-3",
        "RO-O-2",
        "RO-O-4",
    ]
    assert numbers(mixed.rows(cs1, "done", order="asc")) == ["RO-D-1", "RO-D-2"]
    page = cs1.get("/?tab=offered").text
    assert re.search(r'aria-sort="ascending">\s*<a href="/\?tab=offered&amp;order=desc"', page)


def test_search_by_business_number_or_customer(mixed) -> None:
    cs1 = mixed.client("cs1")
    assert numbers(mixed.rows(cs1, "offered", q="O-3")) == ["RO-O-3"]
    assert numbers(mixed.rows(cs1, "offered", q="ro-o-1")) == ["RO-O-1"]  # case does not matter
    assert numbers(mixed.rows(cs1, "offered", q="南方")) == ["RO-O-2"]
    assert numbers(mixed.rows(cs1, "offered", q="acme")) == ["CP-O-5"]
    assert numbers(mixed.rows(cs1, "offered", q="  北方重工  ")) == ["RO-O-1"]
    assert mixed.rows(cs1, "offered", q="%") == []  # wildcards are searched for, not obeyed
    assert mixed.rows(cs1, "offered", q="RO-X") == []  # the search stays inside the tab
    page = cs1.get("/", query_string={"tab": "offered", "q": "无此客户"}).text
    assert "没有符合筛选条件的任务。" in page


def test_paging(web) -> None:
    web.freeze()
    web.seed(*(Seed(f"RO-P-{n:02d}", due=NOW + n * HOUR) for n in range(1, 24)))
    cs1 = web.client("cs1")
    first = web.rows(cs1, "offered", per_page="10")
    assert numbers(first) == [f"RO-P-{n:02d}" for n in range(1, 11)]
    third = cs1.get("/", query_string={"tab": "offered", "per_page": "10", "page": "3"}).text
    assert numbers(web.table_rows(third, "offered")) == ["RO-P-21", "RO-P-22", "RO-P-23"]
    assert "第 3 页，共 3 页" in third
    assert 'id="page-next"' not in third
    assert re.search(r'<a href="/\?tab=offered&amp;page=2&amp;per_page=10" rel="prev"', third)
    # A page past the end shows the last one; nonsense falls back to defaults.
    beyond = cs1.get("/", query_string={"tab": "offered", "per_page": "10", "page": "99"}).text
    assert numbers(web.table_rows(beyond, "offered"))[0] == "RO-P-21"
    odd = cs1.get("/", query_string={"tab": "offered", "page": "x", "per_page": "7", "order": "up"})
    assert odd.status_code == 200
    assert len(web.table_rows(odd.text, "offered")) == 23  # 25 a page


def test_a_filter_change_by_htmx_answers_the_table_alone(mixed) -> None:
    cs1 = mixed.client("cs1")
    response = cs1.get(
        "/",
        query_string={"tab": "offered", "q": "北方"},
        headers={"HX-Request": "true", "HX-Target": "inbox-results"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="inbox-results">')
    assert "<html" not in response.text and 'id="inbox-status"' not in response.text
    assert numbers(mixed.table_rows(response.text, "offered")) == ["RO-O-1"]
    # Going back in the browser's history asks htmx for the whole page.
    restore = cs1.get(
        "/?tab=offered",
        headers={"HX-Request": "true", "HX-Target": "inbox-results", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


def test_the_inbox_page_wires_htmx_filters_and_polling(mixed) -> None:
    page = mixed.client("cs1").get("/?tab=offered").text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
    assert re.search(
        r'<form id="inbox-filters"[^>]*hx-get="/"[^>]*hx-target="#inbox-results"', page, re.DOTALL
    )
    assert 'hx-push-url="true"' in page
    status = re.search(r'<div id="inbox-status" hx-get="([^"]+)"\s+hx-trigger="every 20s"', page)
    assert status and status.group(1).startswith("/inbox/status?tab=offered&amp;since=2026-03-10T02:00:00")


def test_polling_refreshes_the_counts_and_tells_about_new_tasks(mixed) -> None:
    cs1 = mixed.client("cs1")
    since = NOW.isoformat()
    quiet = cs1.get("/inbox/status", query_string={"tab": "offered", "since": since}).text
    assert tab_counts(quiet) == {"mine": 3, "offered": 5, "done": 2}
    assert 'id="new-tasks"' not in quiet

    mixed.seed(
        Seed("RO-N-1", created=NOW + HOUR),
        Seed("RO-N-2", created=NOW + HOUR, assignee="cs1"),
        Seed("RO-N-3", created=NOW + HOUR, role="technician"),  # not for cs1
    )
    news = cs1.get("/inbox/status", query_string={"tab": "offered", "since": since, "q": "北方"}).text
    assert tab_counts(news) == {"mine": 4, "offered": 6, "done": 2}
    assert re.search(r'<a href="/\?tab=offered&amp;q=%E5%8C%97%E6%96%B9" id="new-tasks">有 2 项新任务', news)
    assert f"since={since.replace('+', '%2B')}" in news  # the next poll still counts from the page's time
    assert cs1.get("/inbox/status", query_string={"since": "yesterday"}).status_code == 200


def test_only_supervisors_have_the_all_open_tasks_tab(mixed) -> None:
    cs1, sup1 = mixed.client("cs1"), mixed.client("sup1")
    assert "全部待办" not in cs1.get("/").text
    assert numbers(mixed.rows(cs1, "team")) == []  # asked anyway: falls back to cs1's own tab
    team = numbers(mixed.rows(sup1, "team"))
    assert set(team) == {
        "RO-M-1", "RO-M-2", "RO-M-3", "RO-O-1", "RO-O-2", "RO-O-3", "RO-O-4", "CP-O-5", "RO-X-1", "RO-X-2"
    }  # fmt: skip
    assert tab_counts(sup1.get("/").text)["team"] == 10
    page = sup1.get("/?tab=team").text
    assert '<th scope="col">办理人</th>' in page


def test_the_default_tab_is_mine_when_it_has_tasks_else_the_roles_tasks(web) -> None:
    web.freeze()
    web.seed(Seed("RO-O-1"))
    cs1 = web.client("cs1")
    assert 'id="tab-offered" aria-current="page"' in cs1.get("/").text
    web.seed(Seed("RO-M-1", assignee="cs1"))
    assert 'id="tab-mine" aria-current="page"' in cs1.get("/").text


def test_the_inbox_never_loads_a_workflow(mixed, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the inbox deserialized a workflow")

    monkeypatch.setattr(serialization, "state_from_json", refuse)
    cs1, sup1 = mixed.client("cs1"), mixed.client("sup1")
    for tab in ("mine", "offered", "done"):
        assert cs1.get("/", query_string={"tab": tab, "q": "R", "overdue": "1"}).status_code == 200
    assert sup1.get("/?tab=team").status_code == 200
    assert cs1.get("/inbox/status").status_code == 200


def test_inbox_read_model_counts_and_pages_in_sql(mixed) -> None:
    with mixed.engine.sessions() as session:
        counts = queries.inbox_counts(session, CS1, NOW)
        assert counts == {
            "mine": queries.TabCount(3, 1),
            "offered": queries.TabCount(5, 1),
            "done": queries.TabCount(2, 1),
        }
        page = queries.inbox(session, CS1, queries.InboxQuery(tab="offered", per_page=10, page=1), NOW)
        assert page.total == 5 and page.pages == 1
        assert [r.business_number for r in page.rows] == ["RO-O-2", "RO-O-3", "RO-O-1", "CP-O-5", "RO-O-4"]
        assert queries.new_arrivals(session, CS1, NOW - 2 * timedelta(days=1)) == 8
        assert queries.new_arrivals(session, CS1, NOW) == 0


#: The partial task indexes: each holds the tasks of one state (``engine.store.models.Task``).
TAB_INDEXES = ("ix_task_assigned", "ix_task_offered", "ix_task_done", "ix_task_open_due")


def _plan(connection, statement: str, parameters) -> str:
    """How the database answers a statement, as one text."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(row[3] for row in rows)
    # The generic plan of the statement prepared: the one PostgreSQL may keep once the driver has
    # prepared a statement run often. A seq scan is made dear, so even a tiny table is read by an
    # index wherever one may serve.
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    driver = connection.connection.driver_connection
    values = ", ".join(psycopg.sql.Literal(parameters[name]).as_string(driver) for name in names)
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql(f"PREPARE tab_count AS {prepared}")
    rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE tab_count({values})").all()
    connection.exec_driver_sql("DEALLOCATE tab_count")
    return "\n".join(row[0] for row in rows)


def test_each_tab_is_counted_from_a_state_index_alone(mixed) -> None:
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    sup1 = Actor("sup1", frozenset({"service_supervisor"}))
    event.listen(mixed.engine.db, "before_cursor_execute", grab)
    try:
        with mixed.engine.sessions() as session:
            queries.inbox_counts(session, sup1, NOW, sees_all=True)
    finally:
        event.remove(mixed.engine.db, "before_cursor_execute", grab)
    counts = [(statement, parameters) for statement, parameters in statements if "count(" in statement]
    assert len(counts) == 4  # mine, offered, done, team
    with mixed.engine.db.begin() as connection:
        for statement, parameters in counts:
            plan = _plan(connection, statement, parameters)
            used = [name for name in TAB_INDEXES if name in plan]
            assert len(used) == 1, plan
            if connection.dialect.name == "sqlite":  # the index answers alone: no task row is read
                assert f"COVERING INDEX {used[0]}" in plan, plan
            else:
                assert "Seq Scan on task" not in plan, plan
