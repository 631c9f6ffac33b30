"""How afterflow words a notification, in Chinese and English: subject, text and a small HTML body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from engine.outbox.message import Message, Renderer
from processes.roles import ROLES

#: Per kind and language: (subject, text). Fields: number, task, due, sla, actor, excerpt, customer, link.
WORDING: dict[str, dict[str, tuple[str, str]]] = {
    "task_offered": {
        "zh": (
            "【待领取】{number} {task}",
            "案件 {number}（{customer}）的任务「{task}」已分派给您的岗位，请及时领取处理。{due_line}",
        ),
        "en": (
            "[To claim] {number} {task}",
            "The task “{task}” of case {number} ({customer}) is offered to your role; please claim it.{due_line}",
        ),
    },
    "task_assigned": {
        "zh": (
            "【新任务】{number} {task}",
            "案件 {number}（{customer}）的任务「{task}」已指派给您。{due_line}",
        ),
        "en": (
            "[Assigned] {number} {task}",
            "The task “{task}” of case {number} ({customer}) is assigned to you.{due_line}",
        ),
    },
    "due_soon": {
        "zh": (
            "【即将到期】{number} {task}",
            "案件 {number}（{customer}）的任务「{task}」即将到期{due_line}",
        ),
        "en": (
            "[Due soon] {number} {task}",
            "The task “{task}” of case {number} ({customer}) is due soon.{due_line}",
        ),
    },
    "sla_breached": {
        "zh": (
            "【超时】{number} 已超过服务时限",
            "案件 {number}（{customer}）已超过服务时限「{sla}」（应于 {due} 前完成），请督办。",
        ),
        "en": (
            "[Late] {number} missed a service limit",
            "Case {number} ({customer}) missed the service limit “{sla}” (due {due}); please follow it up.",
        ),
    },
    "escalation": {
        "zh": ("【督办】{number} {task}", "案件 {number}（{customer}）超时，已升级为「{task}」，请处理。"),
        "en": (
            "[Escalated] {number} {task}",
            "Case {number} ({customer}) is late and was escalated: “{task}”.",
        ),
    },
    "case_finished": {
        "zh": ("【已办结】{number}", "您发起的案件 {number}（{customer}）已办结。"),
        "en": ("[Finished] {number}", "The case {number} ({customer}) you started is finished."),
    },
    "mentioned": {
        "zh": (
            "【提及】{actor} 在 {number} 中提到了您",
            "{actor} 在案件 {number} 的评论中提到了您：\n{excerpt}",
        ),
        "en": (
            "[Mention] {actor} mentioned you on {number}",
            "{actor} mentioned you in a comment on case {number}:\n{excerpt}",
        ),
    },
    # Customers: what their case is at, with the private status link.
    "customer_received": {
        "zh": (
            "您的服务申请 {number} 已受理",
            "您好，您的服务申请已受理，编号 {number}。可通过以下链接查看进度：{link}",
        ),
        "en": (
            "Your request {number} is received",
            "Hello, we received your request, number {number}. Follow it here: {link}",
        ),
    },
    "customer_on_the_way": {
        "zh": (
            "技术员正在前往 — {number}",
            "您好，您的服务申请 {number} 已派工，{technician}正在前往。进度：{link}",
        ),
        "en": (
            "A technician is on the way — {number}",
            "Hello, {technician} is on the way for your request {number}. Status: {link}",
        ),
    },
    "customer_completed": {
        "zh": (
            "服务已完成，请评价 — {number}",
            "您好，您的服务申请 {number} 已完成。请在此为我们的服务评分：{link}",
        ),
        "en": (
            "Service completed — please rate us — {number}",
            "Hello, your request {number} is completed. Please rate our service here: {link}",
        ),
    },
}
KIND_LABELS: dict[str, tuple[str, str]] = {
    "task_offered": ("任务分派到我的岗位", "A task offered to my role"),
    "task_assigned": ("任务指派给我", "A task assigned to me"),
    "due_soon": ("任务即将到期", "A task due soon"),
    "sla_breached": ("超过服务时限", "A service limit missed"),
    "escalation": ("超时升级督办", "An escalation"),
    "case_finished": ("我发起的案件办结", "A case I started finished"),
    "mentioned": ("评论中提到我", "A comment mentioning me"),
}
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "inapp": ("站内提醒（铃铛）", "In the app (the bell)"),
    "email": ("电子邮件", "E-mail"),
    "wecom": ("企业微信群机器人", "WeCom group robot"),
    "dingtalk": ("钉钉群机器人", "DingTalk group robot"),
    "feishu": ("飞书群机器人", "Feishu group robot"),
}
_ROLE_NAMES = {r.key: (r.name_zh, r.name_en) for r in ROLES}


def label(table: dict[str, tuple[str, str]], key: str, language: str | None) -> str:
    """A kind's or channel's name in ``language`` (Chinese unless English is asked)."""
    zh, en = table.get(key, (key, key))
    return en if language == "en" else zh


def _local(moment: Any, zone: ZoneInfo) -> str:
    """An ISO time as the company's wall clock reads it (YYYY-MM-DD HH:MM)."""
    if not moment:
        return ""
    try:
        parsed = datetime.fromisoformat(str(moment))
    except ValueError:
        return str(moment)[:16]
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone)
    return parsed.strftime("%Y-%m-%d %H:%M")


def _fields(params: dict[str, Any], language: str, zone: ZoneInfo) -> dict[str, str]:
    due_text = _local(params.get("due_at"), zone)
    if due_text:
        due_line = f"（期限 {due_text}）" if language == "zh" else f" Due {due_text}."
    else:
        due_line = "。" if language == "zh" else ""
    customer = params.get("customer") or ("—")
    # Customers' notices name the technician only where the company allows it (then it is in params).
    technician = str(params.get("technician") or "").strip()
    if language == "zh":
        technician = f"技术员 {technician} " if technician else "技术员"
    else:
        technician = f"the technician {technician}" if technician else "a technician"
    return {
        "number": str(params.get("business_number") or params.get("instance_id") or ""),
        "task": str(params.get("task") or ""),
        "customer": str(customer),
        "due": due_text,
        "due_line": due_line,
        "sla": str(params.get("sla") or ""),
        "actor": str(params.get("actor") or ""),
        "excerpt": str(params.get("excerpt") or ""),
        "link": str(params.get("link") or ""),
        "technician": technician,
    }


def make_renderer(
    link_for: Callable[[dict[str, Any]], str | None] = lambda params: None,
    timezone: str | ZoneInfo = "Asia/Shanghai",
) -> Renderer:
    """The renderer of our notifications; ``link_for`` turns a notification's params into a page's URL.

    Times read on the wall clock of ``timezone`` (the company calendar's).
    """
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)

    def render(kind: str, params: dict[str, Any], language: str | None) -> Message:
        lang = "en" if language == "en" else "zh"
        subject_t, text_t = WORDING.get(kind, {}).get(lang, ("{number}", kind))
        fields = _fields(params, lang, zone)
        subject, text = subject_t.format(**fields), text_t.format(**fields)
        link = None if kind.startswith("customer_") else link_for(params)
        html = "<p>" + escape(text).replace("\n", "<br>") + "</p>"
        if link:
            html += f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
        return Message(subject, text, html, link)

    return render
