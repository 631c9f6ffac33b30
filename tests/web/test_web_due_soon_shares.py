"""Administrators set the due-soon share per process and the default at /admin/notifications."""

from __future__ import annotations

from engine.accounts.users import create_user
from processes.notifications.settings import due_soon_shares
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web

ADMIN_PASSWORD = "Ad-min-pass-2026"


def test_shares_are_set_per_process_refused_when_out_of_range_and_cleared(web: Web) -> None:
    assert (
        web.client("sup1")
        .post("/admin/notifications/due-soon", data={"process": "", "percent": "50"})
        .status_code
        == 403
    )
    with web.engine.writer.begin() as session:
        create_user(session, "admin1", ADMIN_PASSWORD, ("admin",), ROLE_KEYS, "系统管理员")
    admin = web.app.test_client()
    assert admin.post("/login", data={"username": "admin1", "password": ADMIN_PASSWORD}).status_code == 302
    page = admin.get("/admin/notifications").text
    table = page[page.index('id="due-soon-shares"') :]
    assert 'value="repair_service"' in table and 'value="complaint"' in table
    assert 'placeholder="75"' in table  # the policy table's share, until a default is set

    assert (
        admin.post(
            "/admin/notifications/due-soon", data={"process": "repair_service", "percent": "50"}
        ).status_code
        == 302
    )
    assert (
        admin.post("/admin/notifications/due-soon", data={"process": "", "percent": "90"}).status_code == 302
    )
    for bad in ({"process": "complaint", "percent": "100"}, {"process": "complaint", "percent": "abc"}):
        refused = admin.post("/admin/notifications/due-soon", data=bad)
        assert refused.status_code == 422 and "即将到期比例：请填写大于 0、小于 100 的百分比" in refused.text
    unknown = admin.post("/admin/notifications/due-soon", data={"process": "moon_landing", "percent": "50"})
    assert unknown.status_code == 422 and "请从列出的流程中选择" in unknown.text
    with web.engine.sessions() as session:
        assert due_soon_shares(session) == {"repair_service": 0.5, "": 0.9}
    shown = admin.get("/admin/notifications").text
    assert (
        'value="repair_service">\n      <input type="number" name="percent" min="1" max="99" step="any" value="50"'
        in shown
    )
    admin.post("/admin/notifications/due-soon", data={"process": "repair_service", "percent": ""})
    with web.engine.sessions() as session:
        assert due_soon_shares(session) == {"": 0.9}  # the process follows the default again
