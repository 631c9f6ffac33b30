"""What a document template sees: the case, its data, the document's number, and words for codes.

Templates get plain values only (strings, numbers, lists, dicts) and two helpers: ``show(key)``
prints a field as the form labels its value (``fixed_on_site`` → 现场修复) and ``label(key)``
the form's name of a field. Dates print in the company's timezone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from engine.store.models import ProcessInstance

STATUS_WORDS = {
    "running": "办理中",
    "completed": "已完成",
    "terminated": "已终止",
    "suspended": "已暂停",
    "error": "出错",
    "scheduled": "待启动",
}


@dataclass(frozen=True)
class FormWords:
    """Labels of fields and of their options, from the forms of the case's process version."""

    fields: dict[str, str]
    options: dict[str, dict[str, str]]


def form_words(forms: Mapping[str, Any], say: Callable[[str], str] = str) -> FormWords:
    """Collect field labels and option labels from form-js definitions, in the company's words (``say``)."""
    fields: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}

    def walk(components: Any) -> None:
        for component in components or []:
            if not isinstance(component, Mapping):
                continue
            key = component.get("key")
            if isinstance(key, str):
                if component.get("label"):
                    fields.setdefault(key, say(str(component["label"])))
                for value in component.get("values") or []:
                    if isinstance(value, Mapping) and "value" in value:
                        options.setdefault(key, {})[str(value["value"])] = say(
                            str(value.get("label", value["value"]))
                        )
            walk(component.get("components"))

    for form in forms.values():
        if isinstance(form, Mapping):
            walk(form.get("components"))
    return FormWords(fields, options)


def when(value: Any, tz: tzinfo, with_time: bool = True) -> str:
    """A moment as the company reads it: ``2026-11-23 09:00`` in its timezone (text passes through)."""
    if value in (None, ""):
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(tz)
        return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return str(value)


def _plain(value: Any, words: FormWords, key: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_plain(item, words, key) for item in value)
    mapped = words.options.get(key, {}).get(str(value))
    return mapped if mapped is not None else str(value)


def document_context(
    instance: ProcessInstance,
    process_name: str,
    data: Mapping[str, Any],
    words: FormWords,
    document: Mapping[str, Any],
    tz: tzinfo,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The values a template renders: ``case``, ``data``, ``doc``, ``show`` and ``label``, and extras."""

    def show(key: str) -> str:
        return _plain(data.get(key), words, key)

    def label(key: str) -> str:
        return words.fields.get(key, key)

    context: dict[str, Any] = {
        "case": {
            "business_number": instance.business_number,
            "process": process_name,
            "status": STATUS_WORDS.get(instance.status, instance.status),
            "started_at": when(instance.started_at, tz),
            "ended_at": when(instance.ended_at, tz),
            "customer_name": instance.customer_name or "",
            "product": instance.product or "",
        },
        "data": dict(data),
        "doc": dict(document),
        "show": show,
        "label": label,
        "date": lambda value: when(value, tz, with_time=False),
        "moment": lambda value: when(value, tz),
    }
    context.update(extra or {})
    return context


def sample_context() -> dict[str, Any]:
    """The names a template renders with, all empty: what a template is tried on before it is saved."""
    return {
        "case": {},
        "data": {},
        "doc": {},
        "customer": {},
        "notification": {},
        "signature": None,
        "show": lambda key: "",
        "label": lambda key: str(key),
        "date": lambda value: "",
        "moment": lambda value: "",
    }
