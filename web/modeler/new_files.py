"""A new decision table or form added to a process owner's draft, under an id nobody uses yet."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from engine.definitions import FORM_SUFFIX
from engine.definitions.starter import FILE_KEY, starter_dmn, starter_form

#: The kinds of file the editor can add, and the ending of each one's file name.
SUFFIXES = {"decision": ".dmn", "form": FORM_SUFFIX}


def new_file_problem(kind: str, key: str, files: Mapping[str, str]) -> str | None:
    """Why ``key`` cannot name a new ``kind`` file beside ``files`` (the draft and the library)."""
    if not FILE_KEY.match(key):
        return _("The id “%(key)s” takes 1 to 64 letters, digits and underscores, from a letter.", key=key)
    name = key + SUFFIXES[kind]
    taken = {n.lower() for n in files} | {_stem(n).lower() for n in files if not n.endswith(".bpmn")}
    if name.lower() in taken or key.lower() in taken or _declared(key, files):
        return _("The id “%(key)s” is taken by another decision table or form: choose another.", key=key)
    return None


def new_file(kind: str, key: str, name: str, name_en: str) -> tuple[str, str]:
    """The file name and text of a new ``kind`` file ``key`` titled ``name`` (``name_en`` in English)."""
    if kind == "decision":
        return key + ".dmn", starter_dmn(key, name)
    return key + FORM_SUFFIX, starter_form(key, name, name_en)


def _stem(name: str) -> str:
    for suffix in (FORM_SUFFIX, ".dmn"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _declared(key: str, files: Mapping[str, str]) -> bool:
    """Whether a decision table or form in ``files`` already declares the id ``key``."""
    return any(
        f'id="{key}"' in text or f'"id": "{key}"' in text
        for name, text in files.items()
        if not name.endswith(".bpmn")
    )
