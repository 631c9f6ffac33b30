"""The migration page shows what moving changes for each case: the field, the limit, the due time."""

from __future__ import annotations

import re

from tests.integration.test_migration_changes import with_dispatch_changes
from tests.web.conftest import Web
from tests.web.test_web_modeler import owners, repair_files  # noqa: F401  # the fixture


def test_the_dry_run_page_lists_each_cases_changes(owners: Web) -> None:  # noqa: F811
    early = owners.start_repair(owners.client("cs1"))
    client = owners.client("owner1")
    files = with_dispatch_changes(repair_files(client))
    deployed = client.post(
        "/modeler/api/repair_service/deploy", json={"files": files, "change_summary": "派工时限"}
    )
    assert deployed.status_code == 200, deployed.text

    page = client.get("/modeler/repair_service/migrate?from=1&to=2").text

    row = page[page.index(f"<td>{early}</td>") :]
    row = row[: row.index("</tr>")]
    assert re.search(r'class="change-step">[^<]*电话指导', row)
    field = re.search(r'class="change-field">([^<]*)</li>', row)
    assert field is not None and all(w in field.group(1) for w in ("携带备件", "parts_to_bring", "派工"))
    assert re.search(r'class="change-limit">[^<]*sla_amount[^<]*: 2 → 3', row)
    due = re.search(r'class="change-due">[^<]*dispatch_due[^<]*: (\S+ \S+) → (\S+ \S+)</li>', row)
    assert due is not None and due.group(1) < due.group(2)

    client.post("/language", data={"lang": "en"})
    english = client.get("/modeler/repair_service/migrate?from=1&to=2").text
    row = english[english.index(f"<td>{early}</td>") :]
    row = row[: row.index("</tr>")]
    assert "Will be on: Phone guidance" in row
    assert "Will be asked for Parts to bring (parts_to_bring) at Dispatch" in row
    assert "Limit sla_amount at Work out the dispatch limit: 2 → 3" in row
