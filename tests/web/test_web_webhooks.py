"""The administrators' webhook page: subscribe with a secret shown once, read the log, stop."""

from __future__ import annotations

import re

from engine.accounts.users import create_user
from engine.webhooks import deliver_due
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web


def test_admin_subscribes_reads_the_log_and_stops(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "admin", "管理员-口令-2026-长", ("admin",), ROLE_KEYS, "管理员")
    admin = web.app.test_client()
    assert (
        admin.post("/login", data={"username": "admin", "password": "管理员-口令-2026-长"}).status_code == 302
    )
    assert web.client("sup1").get("/admin/webhooks").status_code == 403
    bad = admin.post("/admin/webhooks", data={"url": "javascript:alert(1)", "events": ["case.started"]})
    assert bad.status_code == 422 and "data-subscription-id" not in bad.text
    page = admin.post("/admin/webhooks", data={"url": "http://127.0.0.1:9/hook", "events": ["case.started"]})
    assert page.status_code == 200
    secret = re.search(r'id="new-secret">.*?<code>(whsec_[\w-]+)</code>', page.text, re.S)
    assert secret
    listing = admin.get("/admin/webhooks").text
    assert secret.group(1) not in listing
    subscription_id = re.search(r'data-subscription-id="(\d+)"', listing).group(1)  # type: ignore[union-attr]
    web.start_repair(web.client("cs1"))
    deliver_due(web.engine.writer, timeout=1)  # port 9 refuses: the attempt is logged
    log = admin.get(f"/admin/webhooks/{subscription_id}").text
    assert "case.started" in log and "pending" in log
    assert admin.post(f"/admin/webhooks/{subscription_id}/deactivate").status_code == 302
    assert "已停止" in admin.get("/admin/webhooks").text
