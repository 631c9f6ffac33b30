"""Turn a form definition into what the form template renders, and read a submitted form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.definitions.forms import FormDefinition, FormField
from engine.definitions.forms.model import SIGNATURE_TYPE
from engine.runtime import Engine
from engine.store import queries
from web.names_view import say


@dataclass(frozen=True)
class FieldView:
    """One field as rendered: label, options and current value in the user's language."""

    field: FormField
    label: str
    description: str
    options: list[tuple[str, str]]
    value: Any
    errors: list[str]


@dataclass(frozen=True)
class FormView:
    """A whole form as rendered."""

    title: str
    fields: list[FieldView]
    has_errors: bool

    @property
    def has_signature(self) -> bool:
        """Whether a field is drawn on screen (the page then loads the signature pad)."""
        return any(view.field.type == SIGNATURE_TYPE for view in self.fields)


def form_context(
    form: FormDefinition, values: dict[str, Any], errors: dict[str, list[str]], lang: str, engine: Engine
) -> FormView:
    """Build the view of a form with the values and errors to show, in the company's words."""
    views: list[FieldView] = []
    for field in form.fields:
        if field.options_from_role:
            with engine.sessions() as session:  # people by their names (张工), their user names stored
                options = [
                    (username, display or username)
                    for username, display in queries.users_holding(session, field.options_from_role)
                ]
        elif field.options_from_process:
            options = [(number, number) for number in engine.case_numbers(field.options_from_process)]
        else:
            options = [
                (value, say(label_en if lang == "en" else label_zh))
                for value, label_zh, label_en in field.options
            ]
        value = values.get(field.key, field.default) if field.key else None
        description = field.description_en if lang == "en" and field.description_en else field.description
        views.append(
            FieldView(
                field, say(field.label(lang)), say(description), options, value, errors.get(field.key, [])
            )
        )
    return FormView(say(form.title(lang)), views, bool(errors))


def submitted_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """Read a submitted HTML form: lists for repeated keys, CSRF and buttons dropped."""
    data: dict[str, Any] = {}
    for key in form:
        if key in ("csrf_token", "action"):
            continue
        values = form.getlist(key)
        data[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return {k.removesuffix("[]"): v for k, v in data.items()}


#: The task page's field for the password that signs a signed step.
SIGNATURE_PASSWORD = "signature_password"
#: The parts of a signature field as the task page posts them: ``<key>__image`` and so on.
SIGNATURE_PARTS = ("image", "name", "refused", "reason")


def fold_signatures(form: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """Gather each signature field's posted parts into one mapping under the field's key.

    A signature field none of whose parts was filled in is left out (as an empty field).
    """
    folded = dict(data)
    for field in form.data_fields:
        if field.type != SIGNATURE_TYPE:
            continue
        parts = {part: folded.pop(f"{field.key}__{part}", "") for part in SIGNATURE_PARTS}
        if any(str(value).strip() for value in parts.values()):
            folded[field.key] = parts
    return folded


def without_images(data: dict[str, Any]) -> dict[str, Any]:
    """The data without drawn images (a draft keeps the typed name and reason, not the drawing)."""
    return {
        key: {k: v for k, v in value.items() if k != "image"} if isinstance(value, dict) else value
        for key, value in data.items()
    }
