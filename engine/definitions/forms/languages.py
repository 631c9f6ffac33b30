"""Which texts of a form lack their English version, or have one written for an older Chinese text.

A form shows its title (``properties.title_zh``, ``title_en``) and each label in Chinese (``label``) and English (``properties.label_en``; an option's
``label_en``). A label without English text falls back to the Chinese one for English readers;
the form editor marks the English text of a renamed label with ``properties.label_en_review``
until someone checks it. Both are warnings of a deploy, not problems: the form still works.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def english_gaps(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(component id, sentence) for every label of ``form`` (form-js JSON) lacking current English text."""
    gaps: list[tuple[str, str]] = []
    titles = form.get("properties") if isinstance(form.get("properties"), dict) else None
    if titles and str(titles.get("title_zh") or "").strip() and not str(titles.get("title_en") or "").strip():
        gaps.append(
            (
                str(form.get("id") or "form"),
                f"the form's title '{titles['title_zh']}' has no English text (title_en)",
            )
        )
    for component in _components(form.get("components")):
        label = component.get("label")
        if not isinstance(label, str) or not label.strip():
            continue
        element = str(component.get("id") or component.get("key") or "?")
        name = f"'{label}' ({component['key']})" if component.get("key") else f"'{label}'"
        found = component.get("properties")
        properties: dict[str, Any] = found if isinstance(found, dict) else {}
        english = properties.get("label_en")
        if not isinstance(english, str) or not english.strip():
            gaps.append((element, f"the field {name} has no English text (label_en)"))
        elif properties.get("label_en_review") not in (None, False, "", "false"):
            gaps.append(
                (element, f"the field {name} was renamed: check its English text '{english}' (label_en)")
            )
        for option in component.get("values") or []:
            if isinstance(option, dict) and not str(option.get("label_en") or "").strip():
                gaps.append(
                    (
                        element,
                        f"the option '{option.get('label', option.get('value'))}' of the field {name} "
                        "has no English text (label_en)",
                    )
                )
    return gaps


def _components(components: Any) -> Iterator[dict[str, Any]]:
    for component in components or []:
        if isinstance(component, dict):
            yield component
            yield from _components(component.get("components"))
