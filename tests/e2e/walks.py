"""Walking one case of a process through the browser: each demo user logged in once, forms filled.

A ``Walk`` keeps one page per user (one browser context each, logged in on first use) and offers
what every walk does on a task page: open the task, read a fact or a decision of the facts panel,
fill the form from its form file (the walk's answers, a plain valid value for any other required
field a later version of the form adds), sign with the password where the step is signed, and
complete it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.accounts.users import create_user
from engine.definitions.forms import FormDefinition, FormField
from engine.store.models import ProcessInstance, Task
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import USERS, Served, draw_signature, log_in, new_page

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The demo users the other processes' lanes need, beyond the browser fixture's few.
LANE_USERS = ("sales1", "qa1", "gm1", "fin1", "techdept1", "bill1", "bm1", "wh1", "wh2")


def local_now() -> datetime:
    return datetime.now(SHANGHAI)


def today() -> date:
    return local_now().date()


def add_lane_users(served: Served) -> None:
    """Create the demo users of the other processes' lanes (once per served app)."""
    with served.engine.writer.begin() as session:
        for username, display_name, roles in DEMO_USERS:
            if username in LANE_USERS and username not in USERS:
                create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)


def plain_value(form_field: FormField) -> Any:
    """A valid value for a required field the walk gives no answer to (None when not required)."""
    if not form_field.required:
        return None
    if form_field.type in ("textfield", "textarea"):
        return "已处理" * max(1, -(-(form_field.min_length or 0) // 3))
    if form_field.type == "number":
        return str(form_field.min if form_field.min is not None else 1)
    if form_field.type in ("select", "radio"):
        return form_field.option_values[0] if form_field.option_values else None
    if form_field.type == "checklist":
        return [form_field.option_values[0]]
    if form_field.type == "checkbox":
        return True
    if form_field.type == "signature":
        return "王建国"
    if form_field.type == "datetime":
        now = local_now()
        day, at = now.date().isoformat(), now.strftime("%H:%M")
        return {"date": day, "time": at}.get(form_field.subtype or "", f"{day}T{at}")
    raise AssertionError(f"the walk does not know how to fill {form_field.type} field {form_field.key}")


class Walk:
    """One case walked by the demo users, each in its own logged-in page."""

    def __init__(self, browser: Any, served: Served, pages: dict[str, Any] | None = None) -> None:
        self.browser = browser
        self.served = served
        #: Logged-in pages by user; walks of one module may share them (one log-in per user).
        self.pages: dict[str, Any] = {} if pages is None else pages

    def page(self, username: str) -> Any:
        """The user's page, logged in on first use."""
        if username not in self.pages:
            page = new_page(self.browser, self.served.url)
            log_in(page, username)
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()

    # --- the case, read from the database -------------------------------------------------------

    def open_tasks(self, number: str, spec_id: str) -> list[Task]:
        with self.served.engine.sessions() as session:
            return list(
                session.scalars(
                    select(Task)
                    .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
                    .where(
                        ProcessInstance.business_number == number,
                        Task.spec_id == spec_id,
                        Task.state == "open",
                    )
                    .order_by(Task.created_at, Task.id)
                )
            )

    def task(self, number: str, spec_id: str) -> Task:
        found = self.open_tasks(number, spec_id)
        assert len(found) == 1, f"{number} has {len(found)} open {spec_id}"
        return found[0]

    def status(self, number: str) -> str:
        with self.served.engine.sessions() as session:
            return str(
                session.scalar(
                    select(ProcessInstance.status).where(ProcessInstance.business_number == number)
                )
            )

    def case_id(self, number: str) -> int:
        with self.served.engine.sessions() as session:
            found = session.scalar(
                select(ProcessInstance.id).where(ProcessInstance.business_number == number)
            )
        assert found is not None, number
        return int(found)

    def form(self, task: Task) -> FormDefinition:
        assert task.form_key, task.spec_id
        with self.served.engine.sessions() as session:
            row = session.get(Task, task.id)
            assert row is not None
            return self.served.engine.form_of(row.instance.definition, task.form_key)

    def start_form(self, process_key: str) -> FormDefinition:
        with self.served.engine.sessions() as session:
            definition = self.served.engine.latest_definition(session, process_key)
        return self.served.engine.form_of(definition, definition.meta["process"]["start_form"])

    # --- pages ------------------------------------------------------------------------------

    def open(self, username: str, task: Task) -> Any:
        page = self.page(username)
        page.goto(f"/tasks/{task.id}", wait_until="domcontentloaded")
        return page

    @staticmethod
    def fact(page: Any, key: str) -> str:
        return str(page.locator(f"#facts [data-fact='{key}']").inner_text()).strip()

    @staticmethod
    def decision(page: Any, element: str) -> str:
        return " ".join(str(page.locator(f"#facts [data-decision='{element}']").inner_text()).split())

    @staticmethod
    def fill(page: Any, form: FormDefinition, answers: dict[str, Any]) -> None:
        """Fill the rendered form: the answers given, a plain value for other required fields."""
        for form_field in form.data_fields:
            key = form_field.key
            value = answers[key] if key in answers else plain_value(form_field)
            if value is None or not form_field.accepts_input:
                continue
            if not page.locator(f".field[data-field='{key}']").first.is_visible():
                continue  # shown only when another answer asks for it
            if form_field.type == "radio":
                page.check(f"input[name={key}][value='{value}']")
            elif form_field.type == "checklist":
                for item in value:
                    page.check(f"input[name='{key}[]'][value='{item}']")
            elif form_field.type == "checkbox":
                (page.check if value else page.uncheck)(f"#field-{key}")
            elif form_field.type == "select":
                page.select_option(f"#field-{key}", str(value))
            elif form_field.type == "signature":
                draw_signature(page, key, str(value))
            else:
                page.fill(f"#field-{key}", str(value))

    def complete(
        self, page: Any, form: FormDefinition, answers: dict[str, Any], expect_ok: bool = True
    ) -> None:
        """Fill and complete the open task page; sign with the password where the step asks."""
        from playwright.sync_api import expect

        self.fill(page, form, answers)
        if page.locator("#signature-password").count():
            page.fill("#signature-password", DEMO_PASSWORD)
        page.click("#complete")
        if expect_ok:
            expect(page.locator("p.flash.ok")).to_be_visible()

    def step(self, username: str, number: str, spec_id: str, answers: dict[str, Any]) -> Any:
        """Open the single open ``spec_id`` of the case as ``username``, complete it; return the page."""
        task = self.task(number, spec_id)
        page = self.open(username, task)
        self.complete(page, self.form(task), answers)
        return page
