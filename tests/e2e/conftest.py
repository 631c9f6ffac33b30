"""Browser-test fixtures: the real app served on a free port, Debian's chromium, and page helpers.

The app is served by werkzeug on a free port with CSRF protection on, over its own SQLite
database per test module (browser tests run once, not once per configured database), with
no timer runner and the inbox polling every second. Without /usr/bin/chromium the tests are
skipped, or fail when AFTERFLOW_REQUIRE_BROWSER=1 (CI). ``playwright install`` is never
needed: only the Python package is used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine.accounts.users import create_user
from engine.calendar import CalendarConfig
from engine.definitions import collect_files
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.schema import upgrade
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
USERS = ("cs1", "sup1", "sup2", "tech1", "tech2")
#: A second customer-service user (not a demo user) to race cs1 for the same task.
EXTRA_USERS = (("cs2", "刘客服", ("customer_service",)),)
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}


def _browser_missing(reason: str) -> None:
    if os.environ.get("AFTERFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"AFTERFLOW_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Served:
    """The app under test: where it answers and the engine behind it."""

    url: str
    engine: Engine


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Serve the real app (CSRF on, no timer runner) on a free port over a fresh SQLite file."""
    folder = tmp_path_factory.mktemp("e2e")
    db = make_engine(f"sqlite:///{folder / 'afterflow-e2e.db'}")
    upgrade(db)
    engine = build_engine(db)
    files, problems = collect_files([ROOT / "diagrams"])
    assert not problems, problems
    engine.deploy(files, deployed_by="owner1")
    with engine.writer.begin() as session:
        for username, display_name, roles in DEMO_USERS:
            if username in USERS:
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
        for username, display_name, roles in EXTRA_USERS:
            create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    settings = Settings(
        database_url=str(db.url),
        secret_key="e2e-secret",
        instance_dir=folder,
        calendar=CalendarConfig(),
        embedded_runner=False,
    )
    app = create_app(
        {
            "AFTERFLOW_ENGINE": engine,
            "AFTERFLOW_INBOX_POLL_SECONDS": 1,
            "AFTERFLOW_MODELER_AUTOSAVE_MS": 1500,
        },
        settings,
    )
    assert app.config.get("WTF_CSRF_ENABLED", True), "the browser tests run with CSRF protection on"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", engine)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        db.dispose()


@pytest.fixture(scope="module")
def base_url(served: Served) -> str:
    return served.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _browser_missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the dev extra installs it
        _browser_missing(f"the playwright package is not installed ({error})")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, base_url: str, viewport: dict[str, int] | None = None) -> Any:
    """A page in a fresh browser context (its own cookies: one user each)."""
    context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def log_in(page: Any, username: str, then: str = "/") -> None:
    page.goto(then)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not log in"


def shot(page: Any, name: str) -> None:
    """Keep a screenshot in docs/screenshots/ when AFTERFLOW_SCREENSHOTS=1 (never otherwise)."""
    if os.environ.get("AFTERFLOW_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


PHONE = {"width": 390, "height": 844}


def draw_signature(page: Any, key: str, signer: str) -> None:
    """Sign a signature field with the mouse (three strokes across its canvas) and type the name."""
    pad = page.locator(f"#field-{key}-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and box["width"] > 100, "the signature canvas is on the page"
    for row in (0.3, 0.5, 0.7):
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * row)
        page.mouse.down()
        for step in range(1, 9):
            wave = 0.08 if step % 2 else -0.08
            page.mouse.move(
                box["x"] + box["width"] * (0.1 + 0.1 * step), box["y"] + box["height"] * (row + wave), steps=3
            )
        page.mouse.up()
    page.fill(f"#field-{key}-name", signer)
