"""Form definitions in @bpmn-io/form-js schema format, and server-side checking of submissions.

A form file (``forms/<key>.form.json``) is parsed once into a `FormDefinition`: an ordered
tuple of `FormField` objects (groups flattened, display-only components kept with an empty
key) plus the original JSON for the browser renderer. Everything the engine cannot honour
is reported as a `FormProblem` listing every problem found, so a deployment can show them
all at once.

`validate_submission` turns submitted data (often HTML form strings) into clean,
JSON-serializable values using a marshmallow schema built from the fields. Failures raise
`engine.errors.FormInvalid` whose messages are codes (`engine.user_messages`) the web tier words.

Field keys become case-data variable names used in expressions, so they must be plain
ASCII identifiers; nested data (form-js keys with dots, groups with a ``path``) is not
supported. Form conditions and ``validate.validationType`` are not evaluated on the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

#: Component types that carry data.
FIELD_TYPES = frozenset(
    {"textfield", "textarea", "number", "select", "radio", "checkbox", "checklist", "datetime", "signature"}
)
#: A customer's hand-drawn signature (or their refusal, with a reason); kept as a signature record.
SIGNATURE_TYPE = "signature"
#: Component types shown to the user but carrying no data.
DISPLAY_TYPES = frozenset({"text"})
#: Component types that only hold other components (flattened on parsing).
GROUP_TYPES = frozenset({"group"})
#: The ``subtype`` values of a form-js ``datetime`` component.
DATETIME_SUBTYPES = ("date", "time", "datetime")

FORM_FILE_SUFFIX = ".form.json"

_OPTION_TYPES = frozenset({"select", "radio", "checklist"})
_TEXT_TYPES = frozenset({"textfield", "textarea"})
_KEY_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TRUE_STRINGS = frozenset({"on", "true", "1", "yes", "checked"})
_FALSE_STRINGS = frozenset({"off", "false", "0", "no", ""})

Number = int | float
Option = tuple[str, str, str]


class FormProblem(ValueError):
    """A form file cannot be used; ``problems`` holds one plain English sentence per problem."""

    def __init__(self, problems: str | Iterable[str], files: Mapping[str, list[str]] | None = None) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        #: For `load_forms`: the problems of each form file, by file name.
        self.files: dict[str, list[str]] = dict(files or {})
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class FormField:
    """One component of a form: a data field, or a display-only text (``type == "text"``, empty key)."""

    key: str
    type: str
    label_zh: str
    label_en: str
    required: bool = False
    #: ``(value, label_zh, label_en)`` for select, radio and checklist.
    options: tuple[Option, ...] = ()
    #: ``properties.optionsFromRole``: the options are the users holding this role (``options`` empty).
    options_from_role: str | None = None
    #: ``properties.optionsFromProcess``: the options are the business numbers of that process's
    #: cases (a picker; the submitted number must name such a case).
    options_from_process: str | None = None
    min: Number | None = None
    max: Number | None = None
    min_length: int | None = None
    max_length: int | None = None
    #: form-js ``defaultValue``, already checked against the field (a tuple for checklists).
    default: Any = None
    readonly: bool = False
    #: Help text under the field; for a display ``text`` component, its (markdown) text.
    description: str = ""
    description_en: str = ""
    #: For ``datetime``: ``"date"``, ``"time"`` or ``"datetime"``.
    subtype: str | None = None
    #: ``validate.pattern`` of a text field (searched, like form-js does).
    pattern: str | None = None
    #: ``decimalDigits`` of a number field: the most digits allowed after the decimal point.
    decimal_digits: int | None = None
    #: ``properties.requiredWhen`` ("other_key=value"): required when another field has that value.
    required_when: tuple[str, str] | None = None
    #: Plausibility bounds against the case (``properties.notBefore``, ``atMost``, …).
    bounds: tuple[Any, ...] = ()

    @property
    def has_dynamic_options(self) -> bool:
        """Whether the options are looked up when the form is shown or submitted, not listed."""
        return bool(self.options_from_role or self.options_from_process)

    @property
    def is_display(self) -> bool:
        """Whether the component only shows text and carries no data."""
        return self.type in DISPLAY_TYPES

    @property
    def accepts_input(self) -> bool:
        """Whether a submission may set this field (not display-only, not read-only)."""
        return not self.is_display and not self.readonly

    @property
    def option_values(self) -> tuple[str, ...]:
        """The values of the options, in order."""
        return tuple(value for value, _zh, _en in self.options)

    def label(self, lang: str = "zh") -> str:
        """The label in ``lang`` ("zh" or "en"; anything else means zh)."""
        return self.label_en if _language(lang) == "en" else self.label_zh


@dataclass(frozen=True)
class FormDefinition:
    """A parsed form: its key, titles, flattened fields and the original JSON for rendering."""

    key: str
    title_zh: str
    title_en: str
    fields: tuple[FormField, ...]
    raw: dict[str, Any] = dataclass_field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def data_fields(self) -> tuple[FormField, ...]:
        """The fields that carry data (display-only components left out)."""
        return tuple(f for f in self.fields if not f.is_display)

    def get_field(self, key: str) -> FormField | None:
        """The data field with ``key``, or None."""
        return next((f for f in self.fields if f.key == key and not f.is_display), None)

    def title(self, lang: str = "zh") -> str:
        """The title in ``lang`` ("zh" or "en"; anything else means zh)."""
        return self.title_en if _language(lang) == "en" else self.title_zh


def _language(lang: str) -> str:
    """ "en" for English language tags ("en", "en-US", "en_GB"), otherwise "zh"."""
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in ("zh", "en") else "zh"
