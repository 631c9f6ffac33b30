"""pytest-xdist's workers get the test files longest first: a long file of few tests never starts last."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests import longest_first
from tests.longest_first import LongestFirst, estimated_seconds


class Worker:
    """A worker as the scheduler sees it: it is sent the indexes of the tests to run."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(indexes)

    def shutdown(self) -> None:
        self.shutting_down = True


def configured(workers: int) -> Any:
    values = {"tx": [f"{workers}*popen"], "dist": "loadfile"}
    return SimpleNamespace(getvalue=values.__getitem__, option=SimpleNamespace(loadscopereorder=True))


COLLECTION = [
    *(f"tests/unit/test_many.py::test_{n}" for n in range(40)),
    *(f"tests/web/test_pages.py::test_{n}[sqlite]" for n in range(10)),
    "tests/packaging/test_wheel.py::test_installs",
    *(f"tests/e2e/test_browser.py::test_{n}" for n in range(3)),
]


def files_sent(worker: Worker) -> list[str]:
    return [COLLECTION[batch[0]].split("::")[0] for batch in worker.sent]


@pytest.fixture(autouse=True)
def _estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds per test by folder as these tests assume them, and one file timed on its own."""
    monkeypatch.setattr(longest_first, "PER_TEST", {"e2e": 8.0, "packaging": 30.0, "web": 0.6, "unit": 0.05})
    monkeypatch.setattr(longest_first, "FILES", {"tests/web/test_slow.py": 50.0})


def test_the_files_go_out_by_their_estimated_time_longest_first() -> None:
    scheduler = LongestFirst(configured(2))
    first, second = Worker("gw0"), Worker("gw1")
    for worker in (first, second):
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, COLLECTION)
    scheduler.schedule()
    # The wheel (one slow test) and the browser file go first; the worker holding one test gets
    # the web file as well, and the forty quick unit tests wait to be handed out last.
    assert files_sent(first) == ["tests/packaging/test_wheel.py", "tests/web/test_pages.py"]
    assert files_sent(second) == ["tests/e2e/test_browser.py"]
    assert list(scheduler.workqueue) == ["tests/unit/test_many.py"]


def test_the_estimate_counts_tests_by_folder() -> None:
    assert estimated_seconds("tests/web/test_pages.py", 10) > estimated_seconds("tests/unit/test_many.py", 40)
    assert estimated_seconds("tests/packaging/test_wheel.py", 1) > estimated_seconds(
        "tests/web/test_pages.py", 20
    )
