"""Hand the test files to pytest-xdist's workers longest first (``--dist loadfile``).

xdist hands out whole files, those with the most tests first, so a long file of few tests (the
wheel's install, a browser file, the demo's load) used to start last and keep one worker busy
while the other had nothing left. Here the files go out by the time they are expected to take,
longest first: the last files handed out are short ones, and both workers end together.

The estimate is the number of a file's tests times the seconds a test of its folder takes on
CI, or a file's own seconds where it is far from its folder's (measured on CI's 2 cores; they
need only be roughly right, and a file missing here just gets its folder's estimate).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from xdist.scheduler import LoadFileScheduling

#: Seconds one test of a folder takes on CI (both databases' runs of a test count as two tests).
PER_TEST = {
    "e2e": 8.0,
    "packaging": 5.0,
    "scenarios": 1.0,
    "web": 0.6,
    "integration": 0.6,
    "architecture": 0.5,
    "security": 0.05,
    "unit": 0.05,
}
#: Seconds a whole file takes on CI where its folder's estimate is far off.
FILES: dict[str, float] = {
    "tests/e2e/test_inbox_in_browser.py": 20,
    "tests/e2e/test_modeler_in_browser.py": 30,
    "tests/e2e/test_processes_in_browser.py": 35,
    "tests/integration/test_backup_restore.py": 45,
    "tests/integration/test_demo_load.py": 20,
    "tests/integration/test_issued_documents.py": 25,
    "tests/integration/test_kpis.py": 40,
    "tests/integration/test_metrics_multiprocess.py": 20,
    "tests/integration/test_migration_changes.py": 12,
    "tests/integration/test_several_processes.py": 60,
    "tests/integration/test_upgrade.py": 15,
    "tests/scenarios/test_recurring_visits.py": 30,
    "tests/web/test_api_authorization.py": 12,
    "tests/web/test_api_schema.py": 22,
    "tests/web/test_web_security_headers.py": 15,
}


def estimated_seconds(path: str, tests: int) -> float:
    """How long the tests of the file ``path`` (``tests/web/test_x.py``) are expected to take."""
    if path in FILES:
        return FILES[path]
    parts = path.split("/")
    folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
    return tests * PER_TEST.get(folder, 0.5)


class LongestFirst(LoadFileScheduling):  # type: ignore[misc]  # xdist's schedulers are untyped
    """xdist's file-by-file scheduling, the files handed out by their estimated time, longest first."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ordered:  # the first hand-out: the queue holds every file now
            files = sorted(self.workqueue.items(), key=lambda item: -estimated_seconds(item[0], len(item[1])))
            self.workqueue = OrderedDict(files)
            self._ordered = True
        super()._assign_work_unit(node)
