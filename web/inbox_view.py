"""The inbox's list: its tabs, filters, sort and page read from the URL, and the filters' choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from werkzeug.datastructures import MultiDict

from engine.store import queries
from web import catalogue


def inbox_query(args: MultiDict[str, str], tab: str) -> queries.InboxQuery:
    """Read the tab, filters, sort and page of an inbox request (bad values fall back to defaults)."""
    return queries.InboxQuery(
        tab=tab,
        process=args.get("process") or None,
        step=args.get("step") or None,
        priority=args.get("urgency") or None,
        overdue=args.get("overdue") in ("1", "on", "true"),
        search=args.get("q", ""),
        order=args.get("order", ""),
        page=_int(args.get("page"), 1),
        per_page=_int(args.get("per_page"), 25),
    ).normalized()


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def query_args(query: queries.InboxQuery, **changes: Any) -> dict[str, Any]:
    """Return the URL arguments of an inbox view, default values left out."""
    values: dict[str, Any] = {
        "tab": query.tab,
        "process": query.process,
        "step": query.step,
        "urgency": query.priority,
        "overdue": "1" if query.overdue else None,
        "q": query.search or None,
        "order": query.order if query.order != ("desc" if query.tab == "done" else "asc") else None,
        "page": query.page if query.page > 1 else None,
        "per_page": query.per_page if query.per_page != 25 else None,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value not in (None, "")}


def inbox_url(query: queries.InboxQuery, **changes: Any) -> str:
    """Return the URL of an inbox view with some of its arguments changed."""
    return url_for("inbox.index", **query_args(query, **changes))


@dataclass(frozen=True)
class FilterOptions:
    """The choices of the inbox filters as (value, label) pairs."""

    processes: list[tuple[str, str]]
    steps: list[tuple[str, str]]
    urgencies: list[tuple[str, str]]


def filter_options(labels: catalogue.Labels, roles: frozenset[str] | None, lang: str) -> FilterOptions:
    """Offer the processes, steps and urgencies of the human tasks of the user's roles (all: None).

    The choices come from the deployed diagrams, not from the tasks in the database, so they cost
    no query and stay the same from one visit to the next. A step's name says its process when
    several processes are offered.
    """
    steps_of_roles = labels.steps_for(roles)
    keys = sorted({key for key, _spec in steps_of_roles}, key=lambda key: labels.process(key, lang))
    several = len(keys) > 1
    steps: dict[str, str] = {}
    for key, spec in steps_of_roles:
        name = labels.step(key, spec, lang)
        steps.setdefault(spec, f"{name} · {labels.process(key, lang)}" if several else name)
    urgencies: dict[str, str] = {}
    for key, value in labels.urgencies:
        if key in keys:
            urgencies.setdefault(value, labels.urgency(key, value, lang))
    return FilterOptions(
        processes=[(key, labels.process(key, lang)) for key in keys],
        steps=sorted(steps.items(), key=lambda pair: pair[1]),
        urgencies=list(urgencies.items()),
    )


def visible_tabs(everything: bool) -> tuple[str, ...]:
    """Return the tabs a user has: the team tab only for those who hand out work."""
    return queries.TABS if everything else tuple(t for t in queries.TABS if t != "team")
