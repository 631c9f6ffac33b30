"""The benchmarked case: the repair service's happy path, who works it, and what they submit.

start → remote guidance (not solved) → dispatch (category B: normal cause, warranty far in
the future, no contract) → repair → acceptance (accepted) → follow-up → archived. Every
section of the benchmark drives cases along this path.

The path is driven by answering whichever human task a case waits for: the answers below
steer the gateways; a task the diagram gains later (an arrival report, say) is answered
from its form — the first option, a short text, today — so the benchmark keeps working
while the diagram evolves, and prints the path it actually took.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Mapping
from datetime import datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from engine import clock
from engine.accounts.users import Actor
from engine.definitions.forms import FormDefinition, parse_form
from engine.runtime import Engine
from engine.store.models import User, UserRole
from processes.demo.signatures import signed_by
from processes.roles import ROLE_KEYS

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
PROCESS_KEY = "repair_service"
BPMN_FILE = DIAGRAMS / f"{PROCESS_KEY}.bpmn"
FORM_SUFFIX = ".form.json"
MAX_COMPLETIONS_PER_CASE = 50


def start_data() -> dict[str, Any]:
    """The start form (报修登记) of an in-warranty, normal-use request: service category B."""
    return {
        "channel": "phone",
        "customer_name": "华东人民医院",
        "customer_phone": "021-5555-0101",
        "customer_address": "上海市徐汇区漕溪北路 1 号",
        "product_model": "XR-200",
        "serial_number": "SN-BENCH-0001",
        "fault_description": "开机无显示，电源指示灯不亮",
        "urgency": "normal",
        "distance_band": "urban",
        "contract_in_force": False,
        "warranty_end": "2099-12-31",
        "cause": "normal",
    }


def bench_user(role: str) -> str:
    """The benchmark's user holding ``role``."""
    return f"bench_{role}"


# What the path's tasks answer, by element id (merged over answers made from the form).
ANSWERS: dict[str, dict[str, Any]] = {
    "task_remote_guidance": {"solved_by_phone": "no", "guidance_notes": "电话指导重启无效，需上门"},
    "task_dispatch": {"technician": bench_user("technician"), "dispatch_notes": "携带电源模块"},
    "task_arrival": {"fault_level": "minor", "fault_assessment": "电源模块损坏"},
    "task_repair": {
        "outcome": "fixed_on_site",
        "work_done": "更换电源模块，通电测试正常",
        "hours_spent": 1.5,
        "parts_replaced": "电源模块 PSU-12",
        "parts_borrowed": False,
        "customer_signed": True,
    },
    "task_acceptance": {"accepted": "yes", "acceptance_notes": "客户已签字"},
    "task_follow_up": {
        "rating_attitude": "very_satisfied",
        "rating_technique": "satisfied",
        "rating_arrival_time": "satisfied",
        "rating_promises": "very_satisfied",
        "suggestions": "",
        "has_complaint": False,
    },
}
# Sending a case back from acceptance to repair (the instance-size probe).
REWORK_ANSWERS: dict[str, dict[str, Any]] = {
    **ANSWERS,
    "task_acceptance": {"accepted": "no", "acceptance_notes": "返修"},
}
REWORK_LOOP = ("task_repair", "task_acceptance")


@cache
def bundle_files() -> dict[str, str]:
    """The process's diagram with the decision tables and forms it names (not the whole folder).

    Other processes in ``diagrams/`` are left out, so a half-edited neighbour cannot break
    the benchmark and no scheduled process adds cases of its own.
    """
    bpmn = BPMN_FILE.read_text(encoding="utf-8")
    files = {BPMN_FILE.name: bpmn}
    decisions = set(re.findall(r"calledDecisionId>\s*([^<\s]+)\s*<", bpmn))
    for dmn in sorted(DIAGRAMS.glob("*.dmn")):
        text = dmn.read_text(encoding="utf-8")
        if decisions & set(re.findall(r"<(?:\w+:)?decision\s[^>]*\bid=\"([^\"]+)\"", text)):
            files[dmn.name] = text
    form_keys = set(re.findall(r"name=\"(?:formKey|startForm)\"\s+value=\"([^\"]+)\"", bpmn))
    for key in sorted(form_keys):
        path = DIAGRAMS / "forms" / f"{key}{FORM_SUFFIX}"
        if path.is_file():
            files[path.name] = path.read_text(encoding="utf-8")
    return files


def diagram_rows() -> list[tuple[str, str]]:
    """Which diagram was measured: the bundle's files and checksum, and the git commit."""
    digest = hashlib.sha256()
    for name, text in sorted(bundle_files().items()):
        digest.update(f"{name}\0{text}\0".encode())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", *(f"diagrams/{n}" for n in bundle_files())],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, changed = "unknown", ""
    return [
        ("diagram bundle", f"{len(bundle_files())} files, sha256 {digest.hexdigest()[:12]}"),
        ("git commit", f"{commit}{' (bundle files modified since)' if changed else ''}"),
    ]


def start_form_key() -> str | None:
    """The form the process starts with (``startForm`` property), if any."""
    found = re.search(r"name=\"startForm\"\s+value=\"([^\"]+)\"", bundle_files()[BPMN_FILE.name])
    return found[1] if found else None


@cache
def form(key: str) -> FormDefinition:
    """A form of the bundle, parsed."""
    return parse_form(key, bundle_files()[f"{key}{FORM_SUFFIX}"])


def answer(
    spec_id: str, form_key: str | None, answers: Mapping[str, Mapping[str, Any]] = ANSWERS
) -> dict[str, Any]:
    """What the benchmark submits for a task: answers made from its form, then the path's own."""
    data = filled_from_form(form(form_key)) if form_key else {}
    data.update(answers.get(spec_id, {}))
    return data


def filled_from_form(definition: FormDefinition) -> dict[str, Any]:
    """A valid submission of a form nobody told the benchmark about: first options, short texts, now."""
    data: dict[str, Any] = {}
    for field in definition.fields:
        if not field.accepts_input or not field.key:
            continue
        if field.default is not None:
            data[field.key] = list(field.default) if isinstance(field.default, tuple) else field.default
        elif field.options_from_role:
            data[field.key] = bench_user(field.options_from_role)
        elif field.options:
            first = field.option_values[0]
            data[field.key] = [first] if field.type == "checklist" else first
        elif field.type == "number":
            data[field.key] = field.min if field.min is not None else 1
        elif field.type == "checkbox":
            data[field.key] = field.required
        elif field.type == "datetime":
            data[field.key] = _moment(field.subtype)
        elif field.type == "signature":
            data[field.key] = signed_by("基准测试")
        elif field.required:
            data[field.key] = "基准测试"[: field.max_length or None].ljust(field.min_length or 0, "。")
    return data


def _moment(subtype: str | None) -> str:
    now = clock.now().astimezone()
    if subtype == "date":
        return now.date().isoformat()
    if subtype == "time":
        return time(now.hour, now.minute).isoformat(timespec="minutes")
    return datetime(now.year, now.month, now.day, now.hour, now.minute, tzinfo=now.tzinfo).isoformat()


def actor_for(role: str | None, assignee: str | None) -> Actor:
    """The benchmark user who works a task offered to ``role`` (or assigned to ``assignee``)."""
    if assignee:
        held = assignee.removeprefix("bench_")
        return Actor(
            assignee, frozenset({held} if held in ROLE_KEYS else set()) | ({role} if role else set())
        )
    key = role or "customer_service"
    return Actor(bench_user(key), frozenset({key}))


STARTER = actor_for("customer_service", None)


def prepare(engine: Engine) -> None:
    """Deploy the repair service bundle and create one benchmark user per role."""
    engine.deploy(bundle_files(), deployed_by="bench")
    now = clock.now()
    with engine.writer.begin() as session:
        for role in sorted(ROLE_KEYS):
            user = User(
                username=bench_user(role),
                display_name=bench_user(role),
                password_hash="!",  # no one logs in as a benchmark user
                active=True,
                created_at=now,
            )
            user.roles = [UserRole(role=role)]
            session.add(user)
