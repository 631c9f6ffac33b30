"""Fill the database with realistic cases by running the real processes on a moving clock.

``load_cases(engine, n)`` spreads ``n`` case starts over the last ``days`` days (working hours,
Shanghai), then replays the months as an event queue: each case's next step happens some
working hours after the previous one, done by the demo user holding the step's role (or the
one it is assigned to), with the form data a person would enter. The clock is frozen at each
moment and the due timers of the load's cases are fired by the engine's own command, so SLA
breaches, escalations and late cases are the engine's own. Fates chosen per case make the mix
a manager sees: most cases finish, some stall (and go late), some are suspended or terminated
by the supervisor with a reason, and some repairs fail in the service-history archive (a
simulated outage of that service) and sit in error — half of them retried later. A repair
rated "unsatisfied" starts its linked complaint (on top of the ``n``); a complaint the customer
does not accept is re-filed.

Everything is drawn from seeded ``random.Random`` generators: the same seed, ``n``, ``end``,
number of workers and empty database give the same cases. The plan (when each case starts, its
process and fate) depends on the seed alone; with several workers (``processes.demo.workers``)
each group of cases draws its steps from its own generator, so the mix is the seed's whatever
the split, while the case numbers interleave as the workers commit. Needs the diagrams
deployed, the demo users and the demo records (``afterflow setup-demo``).
"""

from __future__ import annotations

import heapq
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import Actor
from engine.definitions.forms import FormDefinition
from engine.errors import EngineError
from engine.runtime import Engine
from engine.runtime.context import current
from engine.runtime.statuses import ACTIVE
from engine.store.models import OPEN_TASK, Job, ProcessDefinition, ProcessInstance, Task
from processes.demo.records import CUSTOMERS, DEVICES, RECALL_DEMO_BATCH
from processes.demo.signatures import signed_by
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import SalesLedgerEntry

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTORS: dict[str, Actor] = {name: Actor(name, frozenset(roles)) for name, _display, roles in DEMO_USERS}
USERS_BY_ROLE: dict[str, list[str]] = {}
for _name, _display, _roles in DEMO_USERS:
    for _role in _roles:
        USERS_BY_ROLE.setdefault(_role, []).append(_name)
SUPERVISOR = ACTORS["sup1"]
#: The service whose (simulated) outage puts chosen repair cases in error.
FAILING_SERVICE = "record_service_history"
OUTAGE_MESSAGE = "产品档案服务暂时不可用（演示：模拟故障）"

PROCESS_MIX = (("repair_service", 0.72), ("complaint", 0.12), ("sales_return", 0.13), ("recall", 0.03))
FATE_MIX = (("finish", 0.78), ("stall", 0.08), ("suspend", 0.04), ("terminate", 0.05), ("error", 0.05))
RATING_MIX = (("very_satisfied", 0.5), ("satisfied", 0.38), ("average", 0.09), ("unsatisfied", 0.03))
RATING_KEYS = ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
#: Refused commands in a row after which a case is left alone: the database is not as the load
#: expects (a demo user's roles or password changed), and trying again would not change that.
REFUSALS_BEFORE_LEAVING = 5


@dataclass
class LoadReport:
    """What a load made: cases by process and status, and how long it took."""

    cases: int
    by_process: Counter[str]
    by_status: Counter[str]
    late: int
    seconds: float
    commands: int
    failures: int = 0
    #: The planned cases that were started, by process and fate (the mix a seed chooses).
    by_fate: Counter[tuple[str, str]] = field(default_factory=Counter)
    workers: int = 1

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        return [
            f"{self.cases} cases in {self.seconds:.1f} s ({self.commands} commands, {self.failures} refused,"
            f" {self.workers} worker{'s' if self.workers > 1 else ''})",
            "by process: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_process.items())),
            "by status:  " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items())),
            f"late: {self.late}",
        ]


@dataclass
class _Case:
    process: str
    fate: str
    fate_after: int  # the fate strikes after this many completed steps
    instance_id: int | None = None
    steps: int = 0
    refused: int = 0  # commands refused in a row
    done: bool = False
    retry: bool = False
    planned: bool = False


@dataclass(frozen=True)
class Planned:
    """One case the seed plans: when it starts, its process and its fate."""

    at: datetime
    process: str
    fate: str
    fate_after: int
    retry: bool


def plan_cases(rng: random.Random, n: int, end: datetime, days: int) -> list[Planned]:
    """Draw ``n`` case starts over the ``days`` before ``end``, in time order, with their fates."""
    begin = end - timedelta(days=days)
    span = (end - begin).total_seconds()
    starts = sorted(working_moment(begin + timedelta(seconds=rng.random() * span)) for _ in range(n))
    plan: list[Planned] = []
    for at in starts:
        if at >= end:
            continue
        process = _pick(rng, PROCESS_MIX)
        fate = _pick(rng, FATE_MIX)
        if fate == "error" and process != "repair_service":
            fate = "finish"
        plan.append(Planned(at, process, fate, rng.randint(1, 6), retry=rng.random() < 0.5))
    return plan


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    case: int = field(compare=False)


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _w in mix], weights=[w for _k, w in mix])[0]


def working_moment(at: datetime) -> datetime:
    """Move a moment into the next working hours (Mon-Fri 08:30-17:30 Shanghai)."""
    local = at.astimezone(SHANGHAI)
    for _ in range(10):
        start = local.replace(hour=8, minute=30, second=0, microsecond=0)
        end = local.replace(hour=17, minute=30, second=0, microsecond=0)
        if local.weekday() >= 5 or local >= end:
            local = (local + timedelta(days=1)).replace(hour=8, minute=30, second=0, microsecond=0)
            continue
        if local < start:
            local = start
        break
    return local.astimezone(UTC)


class _Outage:
    """Wrap a service so that it fails for the chosen cases."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped = wrapped
        self.failing: set[int] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current().instance_id in self.failing:
            raise RuntimeError(OUTAGE_MESSAGE)
        return self.wrapped(*args, **kwargs)


class _CheckedPasswords:
    """The password check of signed steps, done once per user and hash for the whole load.

    Every demo user signs with the same demo password; scrypt costs about a tenth of a second
    a time, which was most of the load's time. A wrong password is still refused every time.
    """

    def __init__(self, check: Callable[[str, str], bool]) -> None:
        self.check = check
        self.matched: set[tuple[str, str]] = set()

    def __call__(self, password: str, stored: str) -> bool:
        if (password, stored) in self.matched:
            return True
        if not self.check(password, stored):
            return False
        self.matched.add((password, stored))
        return True


class DemoLoad:
    """One run of the generator (see the module docstring)."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.outage = _Outage(engine.config.services[FAILING_SERVICE])
        services: dict[str, Callable[..., Any]] = {**engine.config.services, FAILING_SERVICE: self.outage}
        # Same database, same deployed versions; only the failing service and the password check differ.
        checked = _CheckedPasswords(engine.config.password_matches)
        self.engine = Engine(engine.db, replace(engine.config, services=services, password_matches=checked))
        self.rng = random.Random(seed)
        self.cases: list[_Case] = []
        #: Cases whose timers failed to fire, left alone until the clock reaches the time given.
        self.timer_backoff: dict[int, datetime] = {}
        #: The ids of the cases this load made.
        self.own: set[int] = set()
        #: Instances made before the load are none of its business (their ids are at most this).
        self.floor = 0
        self.queue: list[_Due] = []
        self.seq = 0
        self.commands = 0
        self.failures = 0
        self.ledger: list[SalesLedgerEntry] = []
        self.last_fired: datetime | None = None
        self.progress: Callable[[int], None] | None = None
        self.versions: dict[int, ProcessDefinition] = {}

    # --- the run -----------------------------------------------------------------------------

    def run(self, n: int, end: datetime, days: int, group: int = 0, groups: int = 1) -> None:
        """Run the seed's plan; with ``groups``, only every ``groups``-th case from ``group`` on.

        A group draws its steps from its own generator (the seed and the group), so each group
        replays the same way whichever other groups run beside it, in this process or another.
        """
        plan = plan_cases(self.rng, n, end, days)
        if groups > 1:
            self.rng = random.Random(f"{self.rng.random()}/{group}/{groups}")
        self.run_plan(plan[group::groups], end)

    def run_plan(self, plan: list[Planned], end: datetime) -> None:
        """Start the planned cases and work them until ``end`` (linked cases come on top)."""
        with self.engine.sessions() as session:
            self.ledger = list(
                session.scalars(
                    select(SalesLedgerEntry)
                    .where(SalesLedgerEntry.batch_number != RECALL_DEMO_BATCH)
                    .order_by(SalesLedgerEntry.id)
                )
            )
            self.floor = session.scalar(select(func.max(ProcessInstance.id))) or 0
        for planned in plan:
            self.cases.append(
                _Case(planned.process, planned.fate, planned.fate_after, retry=planned.retry, planned=True)
            )
            self._push(planned.at, len(self.cases) - 1)
        while self.queue:
            due = heapq.heappop(self.queue)
            if due.at >= end:
                break
            clock.freeze(due.at)
            self._fire_timers()
            case = self.cases[due.case]
            if case.instance_id is None:
                if self.progress is not None:
                    self.progress(1)
                if self._start(case):
                    self._step_later(due.case)
            else:
                self._act(due.case)
        clock.freeze(end)
        self._fire_timers(force=True)

    def _push(self, at: datetime, index: int) -> None:
        self.seq += 1
        heapq.heappush(self.queue, _Due(at, self.seq, index))

    def _fire_timers(self, force: bool = False) -> None:
        """Fire the due timers of the load's own cases (at most every 20 simulated minutes).

        Only this load's cases are looked at: a load split over processes moves each group's
        cases on that group's clock, and cases made before the load keep their own time.
        """
        now = clock.now()
        if not force and self.last_fired is not None and now - self.last_fired < timedelta(minutes=20):
            return
        self.last_fired = now
        while fired := sum(self._fire_timers_of(instance_id) for instance_id in self._own_due()):
            log.debug("demo-load fired %s timers at %s", fired, now)

    def _own_due(self) -> list[int]:
        now = clock.now()
        with self.engine.sessions() as session:
            due = session.scalars(
                select(Job.instance_id)
                .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
                .where(
                    Job.done_at.is_(None),
                    Job.due_at < now,
                    Job.instance_id > self.floor,
                    ProcessInstance.status == ACTIVE,
                )
                .order_by(Job.due_at, Job.id)
            ).all()
        return [i for i in dict.fromkeys(due) if i in self.own and self.timer_backoff.get(i, now) <= now]

    def _fire_timers_of(self, instance_id: int) -> int:
        try:
            fired = self.engine.fire_due_timers(instance_id)
        except Exception as error:  # a broken case must not stop the load; it is left for an hour
            log.warning("demo-load could not fire the timers of case %s: %r", instance_id, error)
            self.failures += 1
            self.timer_backoff[instance_id] = clock.now() + timedelta(hours=1)
            return 0
        return fired

    def _delay(self, case: _Case) -> timedelta:
        if self.rng.random() < 0.05:  # someone sat on it: days, most SLAs are missed
            return timedelta(hours=self.rng.uniform(20, 110))
        return timedelta(minutes=self.rng.uniform(20, 200))

    def _step_later(self, index: int) -> int:
        """Schedule the case's next step; return how many linked cases appeared meanwhile."""
        case = self.cases[index]
        self._push(working_moment(clock.now() + self._delay(case)), index)
        return self._adopt_children(case)

    def _adopt_children(self, case: _Case) -> int:
        with self.engine.sessions() as session:
            children = list(
                session.scalars(
                    select(ProcessInstance.id).where(ProcessInstance.parent_instance_id == case.instance_id)
                )
            )
        added = 0
        for child in children:
            if child in self.own:
                continue
            self.own.add(child)
            self.cases.append(_Case("complaint", "finish", 99, instance_id=child))
            self._push(
                working_moment(clock.now() + timedelta(minutes=self.rng.uniform(30, 180))),
                len(self.cases) - 1,
            )
            added += 1
        return added

    # --- one case --------------------------------------------------------------------------------

    def _start(self, case: _Case) -> bool:
        starter, data = self._start_data(case.process)
        with self.engine.sessions() as session:
            definition = self.engine.latest_definition(session, case.process)
        start_form = definition.meta["process"].get("start_form")
        if start_form:
            data = _filled(
                self.engine.form_of(definition, start_form), data, self.rng, self.engine, clock.now().date()
            )
        try:
            started = self.engine.start(case.process, data, ACTORS[starter])
        except EngineError as error:
            log.warning("demo-load could not start %s: %s %s", case.process, error.message, error.details)
            self.failures += 1
            case.done = True
            return False
        self.commands += 1
        case.instance_id = started.id
        self.own.add(started.id)
        if case.fate == "error":
            self.outage.failing.add(started.id)
        return True

    def _act(self, index: int) -> int:
        case = self.cases[index]
        assert case.instance_id is not None
        with self.engine.sessions() as session:
            status, definition_id = session.execute(
                select(ProcessInstance.status, ProcessInstance.definition_id).where(
                    ProcessInstance.id == case.instance_id
                )
            ).one()
            definition = self._version(session, definition_id)
            tasks = list(
                session.scalars(
                    select(Task)
                    .where(Task.instance_id == case.instance_id, OPEN_TASK)
                    .order_by(Task.created_at, Task.spec_id, Task.id)
                )
            )
        if status == "error":
            if case.retry and case.instance_id in self.outage.failing:
                self.outage.failing.discard(case.instance_id)
                self._command(
                    lambda: self.engine.retry(case.instance_id or 0, SUPERVISOR, "档案服务已恢复，重试")
                )
                return self._step_later(index)
            return 0
        if status != "running" or not tasks:
            return 0
        if case.steps >= case.fate_after and case.fate in ("stall", "suspend", "terminate"):
            if case.fate == "suspend":
                self._command(
                    lambda: self.engine.suspend(case.instance_id or 0, SUPERVISOR, "客户要求暂缓处理")
                )
            elif case.fate == "terminate":
                self._command(
                    lambda: self.engine.terminate(case.instance_id or 0, SUPERVISOR, "客户撤销申请")
                )
            return 0  # a stalled case is simply left alone: its timers will make it late
        task = self.rng.choice(tasks)
        who = self._worker(task)
        data = self._task_data(case.instance_id, task, definition)
        if self._command(lambda: self.engine.complete(task.id, data, ACTORS[who], DEMO_PASSWORD)):
            case.steps += 1
            case.refused = 0
        else:
            case.refused += 1
            if case.refused >= REFUSALS_BEFORE_LEAVING:
                log.warning(
                    "demo-load leaves case %s alone: %s commands in a row were refused",
                    case.instance_id,
                    case.refused,
                )
                return 0
        return self._step_later(index)

    def _command(self, command: Callable[[], None]) -> bool:
        try:
            command()
        except EngineError as error:
            log.warning("demo-load command refused: %s %s", error.message, error.details)
            self.failures += 1
            return False
        except Exception as error:  # an engine failure must not stop the load; it is reported
            log.warning("demo-load command failed: %r", error)
            self.failures += 1
            return False
        self.commands += 1
        return True

    def _worker(self, task: Task) -> str:
        if task.assignee:
            return task.assignee
        holders = USERS_BY_ROLE.get(task.role or "", ["admin"])
        return self.rng.choice(holders)

    # --- what people enter -----------------------------------------------------------------------

    def _start_data(self, process: str) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if process == "repair_service":
            device = rng.choice(DEVICES)
            customer = CUSTOMERS[device.customer]
            return "cs1", {
                "channel": rng.choice(["phone", "phone", "wechat", "email"]),
                "customer_name": customer.name,
                "customer_phone": customer.phone,
                "customer_address": customer.address,
                "product_model": device.model,
                "serial_number": device.serial,
                "fault_description": rng.choice(
                    ["开机无显示", "报警不止", "屏幕闪烁", "无法充电", "读数偏差大"]
                ),
                "urgency": "emergency" if rng.random() < 0.12 else "normal",
                "distance_band": customer.region,
                "contract_in_force": False,
                "cause": "normal" if rng.random() < 0.85 else rng.choice(["misuse", "modification"]),
            }
        if process == "complaint":
            customer = rng.choice(CUSTOMERS)
            device = rng.choice(DEVICES)
            return rng.choice(["sales1", "cs1"]), {
                "receive_channel": rng.choice(["phone", "letter", "visit"]),
                "customer_name": customer.name,
                "customer_phone": customer.phone,
                "product_name": device.name,
                "product_model": device.model,
                "serial_number": device.serial,
                "order_number": f"SO-{rng.randint(1000, 9999)}",
                "quantity": str(rng.choice([1, 2, 5, 10])),
                "delivery_date": (clock.now() - timedelta(days=rng.randint(20, 300))).date().isoformat(),
                "defect_quantity": "1",
                "complaint_category": "",
                "complaint_text": rng.choice(["返修后仍有故障", "送货延误", "包装破损", "服务人员态度差"]),
                "customer_request": rng.choice(["更换整机", "退款", "书面说明"]),
                "market": "domestic" if rng.random() < 0.9 else "abroad",
            }
        if process == "sales_return":
            today = clock.now().astimezone(SHANGHAI).date()
            # Only goods sold by the simulated day can come back (a purchase date is never in the future).
            line = rng.choice([sold for sold in self.ledger if sold.sale_date <= today] or self.ledger)
            return "sales1", {
                "customer_name": line.purchaser_name,
                "customer_type": "institution",
                "customer_phone": "021-52888888",
                "product_name": line.product_name,
                "specification": line.specification,
                "batch_number": line.batch_number,
                "quantity": str(max(1, min(line.quantity, rng.choice([1, 5, 10])))),
                "expiry_date": line.expiry_date.isoformat() if line.expiry_date else "2028-12-31",
                "reason": rng.choice(["near_expiry", "quality_defect", "wrong_goods"]),
                "reason_detail": "",
                "package_intact": "yes",
                "purchase_voucher_number": line.document_number,
                "purchase_date": min(line.sale_date, today).isoformat(),
                "cold_chain": "yes" if line.cold_chain else "no",
                "requested_remedy": rng.choice(["refund", "replace"]),
            }
        return "qa1", {
            "product_name": "重组人胰岛素注射液",
            "specification": "3ml:300IU",
            "batch_numbers": RECALL_DEMO_BATCH,
            "recall_type": rng.choice(["voluntary", "ordered"]),
            "recall_level": rng.choice(["1", "2", "3"]),
            "reason": "抽检含量不合格",
        }

    def _version(self, session: Session, definition_id: int) -> ProcessDefinition:
        """A deployed version, read once per load (a version never changes once deployed)."""
        definition = self.versions.get(definition_id)
        if definition is None:
            definition = session.get(ProcessDefinition, definition_id)
            assert definition is not None
            self.versions[definition_id] = definition
        return definition

    def _task_data(self, instance_id: int, task: Task, definition: ProcessDefinition) -> dict[str, Any]:
        rng = self.rng
        spec = task.spec_id
        chosen: dict[str, Any] = {}
        now_local = clock.now().astimezone(SHANGHAI)
        yes = lambda p: "yes" if rng.random() < p else "no"  # noqa: E731
        match spec:
            case "task_remote_guidance":
                chosen = {"solved_by_phone": yes(0.2), "guidance_notes": "电话指导"}
            case "task_quote":
                chosen = {
                    "solution": "更换配件",
                    "quoted_fee": rng.choice([300, 800, 1500]),
                    "customer_accepts": yes(0.85),
                }
            case "task_gm_approval" if (
                task.role == "general_manager" and task.form_key == "repair_gm_approval"
            ):
                chosen = {"approved": yes(0.5), "comment": "审批"}
            case "task_dispatch":
                chosen = {"technician": rng.choice(["tech1", "tech2"])}
            case "task_arrival":
                chosen = {
                    "arrived_at": now_local.isoformat(timespec="minutes"),
                    "fault_level": rng.choice(["minor", "minor", "complex"]),
                }
            case "task_repair":
                if rng.random() < 0.8:
                    chosen = {
                        "outcome": "fixed_on_site",
                        "work_done": "更换电源板",
                        "hours_spent": 2,
                        "customer_signature": signed_by("王工"),
                    }
                else:
                    chosen = {
                        "outcome": "take_back",
                        "work_done": "现场无法修复，带回",
                        "hours_spent": 1.5,
                        "parts_borrowed": False,
                        "customer_signature": signed_by("王工"),
                        "receipt_number": f"SJ-{instance_id}",
                        "repair_card_number": f"XK-{instance_id}",
                    }
            case "task_acceptance":
                chosen = {"accepted": yes(0.93)}
            case "task_invoice":
                chosen = {"amount": 800, "invoice_number": f"No.{instance_id:08d}", "collected": True}
            case "task_follow_up":
                chosen = {key: _pick(rng, RATING_MIX) for key in RATING_KEYS}
                chosen["suggestions"] = ""
            case "task_loaner":
                chosen = {"loaner_provided": "yes", "loaner_model": "备用机"}
            case "task_register":
                chosen = {
                    "severity": "major" if rng.random() < 0.12 else "general",
                    "joint_investigation": rng.random() < 0.15,
                }
            case "task_investigation":
                chosen = {"complaint_substantiated": yes(0.8)}
            case "task_gm_approval":
                chosen = {"approval_decision": "approve", "approved_disposition": "按方案处理"}
            case "task_reply":
                chosen = {
                    "reply_channel": "letter",
                    "reply_within_approval": True,
                    "reply_date": now_local.date().isoformat(),
                }
            case "task_customer_decision":
                chosen = {"customer_accepts": yes(0.93)}
            case "task_improvement_tracking":
                chosen = {"improvement_effective": "yes"}
            case "task_return_notice":
                chosen = {"is_our_sale": "yes", "reason_verified": "yes"}
            case "task_approve_business":
                chosen = {"bm_approved": yes(0.92)}
            case "task_approve_quality":
                chosen = {"qa_approved": yes(0.95)}
            case "task_pickup":
                chosen = {
                    "pickup_confirmed": True,
                    "pickup_date": now_local.date().isoformat(),
                    "temperature_documents": "complete",
                }
            case "task_receive":
                chosen = {
                    "goods_match": "yes",
                    "temperature_excursion": "no",
                    "temperature_records_complete": "yes",
                }
            case "task_notify":
                chosen = {
                    "notified_at": now_local.strftime("%Y-%m-%dT%H:%M"),
                    "acknowledged": True,
                    "quantity_to_return": "10",
                }
            case "task_summary":
                chosen = {"approved": "yes"}
        form = self.engine.form_of(definition, task.form_key) if task.form_key else None
        return _filled(form, chosen, rng, self.engine, now_local.date()) if form else chosen


def _filled(
    form: FormDefinition, chosen: Mapping[str, Any], rng: random.Random, engine: Engine, today: date
) -> dict[str, Any]:
    """Complete ``chosen`` with plausible values for every other field a person would fill in."""
    data = dict(chosen)
    for f in form.fields:
        values = [option[0] for option in f.options]
        if values and f.type != "checklist" and f.key in data and data[f.key] not in values:
            del data[f.key]  # what this version of the form does not offer is chosen afresh
        if (f.key in data and data[f.key] not in ("", None)) or f.readonly:
            continue
        if not f.required and (f.type == "checkbox" or rng.random() < 0.5):
            continue  # an optional box left unticked (ticking "has a complaint" is the customer's call)
        value: Any
        if f.options_from_role:
            value = rng.choice(engine.role_users(f.options_from_role) or ["admin"])
        elif f.options_from_process:
            numbers = engine.case_numbers(f.options_from_process)
            if not numbers:
                continue
            value = rng.choice(numbers)
        elif values:
            value = [rng.choice(values)] if f.type == "checklist" else rng.choice(values)
        elif f.type == "number":
            low = f.min if f.min is not None else 1
            value = max(low, 1) if f.max is None or f.max >= 1 else low
        elif f.type == "checkbox":
            value = True
        elif f.type == "signature":
            value = signed_by("演示客户")
        elif f.type == "datetime":
            value = {
                "time": "10:00",
                "datetime": f"{today.isoformat()}T10:00",
            }.get(f.subtype or "date", today.isoformat())
        elif f.pattern:
            continue
        else:
            value = "演示记录"[: f.max_length or 100]
        data[f.key] = value
    return data


@dataclass
class Outcome:
    """What one run of the generator made: its cases' ids, its commands and the planned mix."""

    ids: list[int]
    commands: int
    failures: int
    by_fate: Counter[tuple[str, str]]

    def add(self, other: Outcome) -> None:
        """Add another group's outcome to this one."""
        self.ids += other.ids
        self.commands += other.commands
        self.failures += other.failures
        self.by_fate += other.by_fate


def run_group(
    engine: Engine,
    cases: int,
    seed: int,
    end: datetime,
    days: int,
    group: int = 0,
    groups: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Run one group of the seed's cases in this process (all of them when ``groups`` is 1)."""
    load = DemoLoad(engine, seed)
    load.progress = progress
    was_frozen = clock.now() if clock._frozen is not None else None
    try:
        load.run(cases, end, days, group, groups)
    finally:
        if was_frozen is not None:
            clock.freeze(was_frozen)
        else:
            clock.unfreeze()
    made = [c for c in load.cases if c.instance_id is not None]
    return Outcome(
        ids=[c.instance_id for c in made if c.instance_id is not None],
        commands=load.commands,
        failures=load.failures,
        by_fate=Counter((c.process, c.fate) for c in made if c.planned),
    )


def load_cases(
    engine: Engine,
    cases: int,
    seed: int = 2026,
    end: datetime | None = None,
    days: int = 150,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    open_engine: Callable[[], Engine] | None = None,
) -> LoadReport:
    """Run ``cases`` real cases over the ``days`` before ``end`` (now); report what was made.

    ``progress`` is called with the number of cases just started (a progress bar's ``update``).
    With ``workers`` above 1 the seed's cases are split into that many groups, each run by its
    own process over an engine from ``open_engine`` (by default one over the same database URL,
    configured by ``processes.wiring``).
    """
    began = time.perf_counter()
    end = end or datetime.now(UTC)
    if workers > 1:
        from processes.demo.workers import engine_over, run_in_workers

        factory = open_engine or engine_over(engine.db.url.render_as_string(hide_password=False))
        outcome = run_in_workers(factory, cases, seed, end, days, workers, progress)
    else:
        outcome = run_group(engine, cases, seed, end, days, progress=progress)
    with engine.sessions() as session:
        rows = session.execute(
            select(ProcessInstance.process_key, ProcessInstance.status, ProcessInstance.late).where(
                ProcessInstance.id.in_(outcome.ids)
            )
        ).all()
    return LoadReport(
        cases=len(rows),
        by_process=Counter(r.process_key for r in rows),
        by_status=Counter(r.status for r in rows),
        late=sum(1 for r in rows if r.late),
        seconds=time.perf_counter() - began,
        commands=outcome.commands,
        failures=outcome.failures,
        by_fate=outcome.by_fate,
        workers=max(1, workers),
    )
