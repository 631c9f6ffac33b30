"""Form definitions in @bpmn-io/form-js schema format, and server-side checking of submissions.

A form file (``forms/<key>.form.json``) is parsed once into a `FormDefinition`: an ordered
tuple of `FormField` objects (groups flattened, display-only components kept with an empty
key) plus the original JSON for the browser renderer. Everything the engine cannot honour
is reported as a `FormProblem` listing every problem found, so a deployment can show them
all at once.

`validate_submission` turns submitted data (often HTML form strings) into clean,
JSON-serializable values using a marshmallow schema built from the fields. Failures raise
`engine.errors.FormInvalid` with messages in Chinese or English.

Field keys become case-data variable names used in expressions, so they must be plain
ASCII identifiers; nested data (form-js keys with dots, groups with a ``path``) is not
supported. Form conditions and ``validate.validationType`` are not evaluated on the server.
"""

from __future__ import annotations

import functools
import json
import keyword
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, pre_load, validate
from marshmallow import fields as ma_fields

from engine.errors import FormInvalid

#: Component types that carry data.
FIELD_TYPES = frozenset(
    {"textfield", "textarea", "number", "select", "radio", "checkbox", "checklist", "datetime"}
)
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


# --------------------------------------------------------------------------- parsing


def parse_form(key: str, text: str) -> FormDefinition:
    """Parse form-js JSON into a `FormDefinition`; raise `FormProblem` listing every problem."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormProblem(f"the form file is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise FormProblem("the form file must hold a JSON object with a 'components' list")

    problems: list[str] = []
    form_type = doc.get("type", "default")
    if form_type != "default":
        problems.append(f"the form has type {form_type!r}; form-js forms have type 'default'")
    properties = doc.get("properties", {})
    if not isinstance(properties, dict):
        problems.append("the form's 'properties' is not a JSON object")
        properties = {}
    components = doc.get("components")
    if not isinstance(components, list):
        problems.append("the form has no 'components' list")
        components = []

    found: list[tuple[str, FormField]] = []
    for index, component in enumerate(components, start=1):
        _parse_component(component, str(index), False, found, problems)

    positions: dict[str, list[str]] = {}
    for position, form_field in found:
        if not form_field.is_display:
            positions.setdefault(form_field.key, []).append(position)
    for _position, form_field in found:
        if form_field.required_when and form_field.required_when[0] not in positions:
            problems.append(
                f"component {form_field.key!r} is required when {form_field.required_when[0]!r} "
                "has a value, but the form has no such field"
            )
    for field_key, where in positions.items():
        if len(where) > 1:
            problems.append(
                f"the key {field_key!r} is used by more than one component (components {', '.join(where)})"
            )
    if problems:
        raise FormProblem(problems)

    form_id = doc.get("id")
    fallback = form_id if isinstance(form_id, str) and form_id else key
    title_zh = _string(properties.get("title_zh")) or fallback
    title_en = _string(properties.get("title_en")) or title_zh
    return FormDefinition(
        key=key,
        title_zh=title_zh,
        title_en=title_en,
        fields=tuple(form_field for _position, form_field in found),
        raw=doc,
    )


def load_forms(folder: Path) -> dict[str, FormDefinition]:
    """Parse every ``*.form.json`` in ``folder``, keyed by file name; one `FormProblem` for all bad files."""
    forms: dict[str, FormDefinition] = {}
    by_file: dict[str, list[str]] = {}
    if not folder.is_dir():
        return forms
    for path in sorted(folder.glob(f"*{FORM_FILE_SUFFIX}")):
        if not path.is_file():
            continue
        form_key = path.name[: -len(FORM_FILE_SUFFIX)]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            by_file[path.name] = [f"the form file cannot be read: {exc}"]
            continue
        try:
            forms[form_key] = parse_form(form_key, text)
        except FormProblem as exc:
            by_file[path.name] = exc.problems
    if by_file:
        raise FormProblem(
            [f"{name}: {problem}" for name, problems in by_file.items() for problem in problems],
            files=by_file,
        )
    return forms


def _parse_required_when(value: Any, name: str, problems: list[str]) -> tuple[str, str] | None:
    """The ``(key, value)`` of a ``requiredWhen`` property written "key=value" (None if absent)."""
    if value in (None, ""):
        return None
    key, separator, expected = value.partition("=") if isinstance(value, str) else ("", "", "")
    if not separator or not _KEY_PATTERN.fullmatch(key.strip()) or not expected.strip():
        problems.append(f"{name} has a requiredWhen that is not written as other_field=value")
        return None
    return key.strip(), expected.strip()


def _parse_component(
    component: Any,
    position: str,
    conditional: bool,
    found: list[tuple[str, FormField]],
    problems: list[str],
) -> None:
    """Append the field(s) of one component (recursing into groups) or describe what is wrong."""
    if not isinstance(component, dict):
        problems.append(f"component {position} is not a JSON object")
        return
    raw_key = component.get("key")
    name = f"component {raw_key!r}" if isinstance(raw_key, str) and raw_key else f"component {position}"
    ctype = component.get("type")
    if not isinstance(ctype, str) or not ctype:
        problems.append(f"{name} has no type")
        return
    hidden_by_condition = conditional or _has_condition(component)

    if ctype in GROUP_TYPES:
        path = component.get("path")
        if path:
            problems.append(
                f"{name} (group) has the data path {path!r}; nested data is not supported, "
                "so leave the group's path empty"
            )
        children = component.get("components", [])
        if not isinstance(children, list):
            problems.append(f"{name} (group) has a 'components' entry that is not a list")
            return
        for index, child in enumerate(children, start=1):
            _parse_component(child, f"{position}.{index}", hidden_by_condition, found, problems)
        return

    properties = component.get("properties", {})
    if not isinstance(properties, dict):
        problems.append(f"{name} has 'properties' that are not a JSON object")
        properties = {}

    if ctype in DISPLAY_TYPES:
        body = _string(component.get("text"))
        found.append(
            (
                position,
                FormField(
                    key="",
                    type=ctype,
                    label_zh="",
                    label_en="",
                    description=body,
                    description_en=_string(properties.get("text_en")) or body,
                ),
            )
        )
        return

    if ctype not in FIELD_TYPES:
        problems.append(f"{name} (type {ctype!r}) is not a supported field type")
        return

    count_before = len(problems)
    if not isinstance(raw_key, str) or not raw_key:
        problems.append(f"{name} (type {ctype!r}) has no key")
        key = ""
    else:
        key = raw_key
        if not _KEY_PATTERN.fullmatch(key) or keyword.iskeyword(key):
            problems.append(
                f"{name} has a key that cannot be used as a variable name; use ASCII letters, "
                "digits and underscores, starting with a letter"
            )

    subtype: str | None = None
    if ctype == "datetime":
        subtype_value = component.get("subtype", "date")
        if subtype_value in DATETIME_SUBTYPES:
            subtype = str(subtype_value)
        else:
            problems.append(
                f"{name} has the datetime subtype {subtype_value!r}; use 'date', 'time' or 'datetime'"
            )

    label_zh = _string(component.get("label"))
    if not label_zh and ctype == "datetime":
        label_zh = _string(component.get("timeLabel" if subtype == "time" else "dateLabel"))
    label_en = _string(properties.get("label_en")) or label_zh
    description = _string(component.get("description"))
    description_en = _string(properties.get("description_en")) or description

    readonly = False
    for flag in ("readonly", "disabled"):
        flag_value = component.get(flag, False)
        if isinstance(flag_value, bool):
            readonly = readonly or flag_value
        else:
            problems.append(f"{name} has a '{flag}' condition; only true or false is supported")

    rules = component.get("validate", {})
    if not isinstance(rules, dict):
        problems.append(f"{name} has a 'validate' entry that is not a JSON object")
        rules = {}
    required = rules.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{name} has a 'required' setting that is not true or false")
        required = False
    if required and hidden_by_condition and not readonly:
        problems.append(
            f"{name} is required but can be hidden by a condition, which the server cannot evaluate; "
            "make it optional or remove the condition"
        )

    min_length = max_length = None
    pattern = None
    if ctype in _TEXT_TYPES:
        min_length = _length_rule(rules, "minLength", name, problems)
        max_length = _length_rule(rules, "maxLength", name, problems)
        if min_length is not None and max_length is not None and min_length > max_length:
            problems.append(f"{name} has a minimum length greater than its maximum length")
        pattern_value = rules.get("pattern")
        if pattern_value not in (None, ""):
            if not isinstance(pattern_value, str):
                problems.append(f"{name} has a validation pattern that is not text")
            else:
                try:
                    re.compile(pattern_value)
                    pattern = pattern_value
                except re.error as exc:
                    problems.append(f"{name} has a validation pattern that is not a valid expression: {exc}")

    low = high = None
    decimal_digits = None
    if ctype == "number":
        low = _number_rule(rules, "min", name, problems)
        high = _number_rule(rules, "max", name, problems)
        if low is not None and high is not None and low > high:
            problems.append(f"{name} has a minimum greater than its maximum")
        decimal_digits = _length_rule(component, "decimalDigits", name, problems)

    options: tuple[Option, ...] = ()
    options_from_role = None
    options_from_process = None
    if ctype in _OPTION_TYPES and properties.get("optionsFromProcess") not in (None, ""):
        process = properties.get("optionsFromProcess")
        if not isinstance(process, str) or not _KEY_PATTERN.fullmatch(process):
            problems.append(f"{name} has an optionsFromProcess that is not a process id")
        elif component.get("values") or properties.get("optionsFromRole"):
            problems.append(f"{name} has optionsFromProcess and other options; use one of them")
        else:
            options_from_process = process
    elif ctype in _OPTION_TYPES:
        role = properties.get("optionsFromRole")
        if role in (None, ""):
            options = _parse_options(component, name, problems)
        elif not isinstance(role, str):
            problems.append(f"{name} has an optionsFromRole that is not a role key")
        elif component.get("values") is not None:
            problems.append(f"{name} has both listed options and optionsFromRole; use one of them")
        else:
            options_from_role = role

    required_when = _parse_required_when(properties.get("requiredWhen"), name, problems)

    if len(problems) > count_before:
        return
    candidate = FormField(
        key=key,
        type=ctype,
        label_zh=label_zh,
        label_en=label_en,
        required=required,
        options=options,
        min=low,
        max=high,
        min_length=min_length,
        max_length=max_length,
        readonly=readonly,
        description=description,
        description_en=description_en,
        subtype=subtype,
        pattern=pattern,
        options_from_role=options_from_role,
        options_from_process=options_from_process,
        decimal_digits=decimal_digits,
        required_when=required_when,
    )
    default = _parse_default(candidate, component, name, problems)
    if len(problems) > count_before:
        return
    found.append((position, _replace_default(candidate, default)))


def _parse_options(component: dict[str, Any], name: str, problems: list[str]) -> tuple[Option, ...]:
    """The static options of a select, radio or checklist component."""
    values = component.get("values")
    if values is None:
        source = component.get("valuesKey") or component.get("valuesExpression")
        if source:
            problems.append(
                f"{name} takes its options from {source!r}; only options listed in the form are supported"
            )
        else:
            problems.append(f"{name} has no options")
        return ()
    if not isinstance(values, list) or not values:
        problems.append(f"{name} has no options")
        return ()
    options: list[Option] = []
    seen: set[str] = set()
    for index, entry in enumerate(values, start=1):
        if not isinstance(entry, dict):
            problems.append(f"option {index} of {name} is not a JSON object")
            continue
        value = entry.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            problems.append(f"option {index} of {name} has no value")
            continue
        if value in seen:
            problems.append(f"{name} lists the option value {value!r} more than once")
            continue
        seen.add(value)
        label_zh = _string(entry.get("label")) or value
        options.append((value, label_zh, _string(entry.get("label_en")) or label_zh))
    return tuple(options)


def _parse_default(form_field: FormField, component: dict[str, Any], name: str, problems: list[str]) -> Any:
    """The checked ``defaultValue`` of a component (None when absent)."""
    if "defaultValue" not in component:
        return False if form_field.type == "checkbox" else None
    value = component["defaultValue"]
    if value is None:
        return None
    try:
        return _coerce(form_field, value)
    except ValueError:
        problems.append(f"{name} has the default value {value!r}, which does not suit the field")
        return None


def _coerce(form_field: FormField, value: Any) -> Any:
    """Convert one non-empty value for ``form_field``; raise ValueError if it does not fit."""
    ftype = form_field.type
    if ftype in _TEXT_TYPES:
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    if ftype == "number":
        return _to_number(value)
    if ftype == "checkbox":
        return _to_bool(value)
    if ftype == "datetime":
        return _to_temporal(value, form_field.subtype or "date")
    allowed = None if form_field.has_dynamic_options else form_field.option_values
    if ftype == "checklist":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(_is_option(v, allowed) for v in items):
            raise ValueError(value)
        return tuple(dict.fromkeys(items))
    if not _is_option(value, allowed):
        raise ValueError(value)
    return value


def _is_option(value: Any, allowed: tuple[str, ...] | None) -> bool:
    """Whether ``value`` is one of ``allowed`` (any non-empty text when the options are not fixed)."""
    if allowed is None:
        return isinstance(value, str) and bool(value)
    return value in allowed


def _replace_default(form_field: FormField, default: Any) -> FormField:
    """A copy of ``form_field`` with its default set."""
    if default is None:
        return form_field
    return replace(form_field, default=default)


def _length_rule(rules: dict[str, Any], name_in_rules: str, name: str, problems: list[str]) -> int | None:
    """A ``minLength``/``maxLength`` rule: a non-negative whole number, or None."""
    value = rules.get(name_in_rules)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{name} has a {name_in_rules} that is not a whole number of zero or more")
        return None
    return value


def _number_rule(rules: dict[str, Any], name_in_rules: str, name: str, problems: list[str]) -> Number | None:
    """A ``min``/``max`` rule: a finite number, or None."""
    value = rules.get(name_in_rules)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{name} has a {name_in_rules} that is not a number")
        return None
    return value


def _has_condition(component: dict[str, Any]) -> bool:
    """Whether a form-js ``conditional.hide`` expression can hide the component."""
    condition = component.get("conditional")
    return isinstance(condition, dict) and bool(condition.get("hide"))


def _string(value: Any) -> str:
    """``value`` if it is a string, else the empty string."""
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- value conversion


def _to_number(value: Any) -> Number:
    """An int or finite float from a number or numeric text; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(value)
        return value
    if isinstance(value, str):
        text = value.strip()
        if "_" in text:
            raise ValueError(value)
        try:
            return int(text)
        except ValueError:
            number = float(text)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    raise ValueError(value)


def _to_bool(value: Any) -> bool:
    """A bool from a bool, 0/1, or HTML checkbox text ("on", "true", "1", ...); raise ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
    raise ValueError(value)


def _to_temporal(value: Any, subtype: str) -> str:
    """An ISO 8601 date, time or date-time string; raise ValueError if ``value`` is not one."""
    if subtype == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            return date.fromisoformat(value.strip()).isoformat()
        raise ValueError(value)
    if subtype == "time":
        if isinstance(value, time):
            parsed_time = value
        elif isinstance(value, str):
            parsed_time = time.fromisoformat(value.strip())
        else:
            raise ValueError(value)
        plain = parsed_time.second == 0 and parsed_time.microsecond == 0
        return parsed_time.isoformat(timespec="minutes" if plain else "auto")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) <= 10:  # a date alone is not a date and time
            raise ValueError(value)
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError(value)
    plain = moment.second == 0 and moment.microsecond == 0
    return moment.isoformat(timespec="minutes" if plain else "auto")


# --------------------------------------------------------------------------- validation

_MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "form": "表单有错误，请检查标出的字段。",
        "required": "此项为必填项。",
        "not_option": "请选择列表中的选项。",
        "not_number": "请输入数字。",
        "not_text": "请输入文字。",
        "not_boolean": "请勾选或取消勾选此项。",
        "too_short": "至少 {min} 个字符。",
        "too_long": "最多 {max} 个字符。",
        "range": "应在 {min} 到 {max} 之间。",
        "too_small": "不能小于 {min}。",
        "too_large": "不能大于 {max}。",
        "invalid_date": "请输入有效日期。",
        "invalid_time": "请输入有效时间。",
        "invalid_datetime": "请输入有效的日期和时间。",
        "pattern": "格式不正确。",
        "too_precise": "最多 {digits} 位小数。",
        "invalid": "此项的值无效。",
    },
    "en": {
        "form": "The form has errors; check the marked fields.",
        "required": "This field is required.",
        "not_option": "Choose one of the listed options.",
        "not_number": "Enter a number.",
        "not_text": "Enter text.",
        "not_boolean": "Tick or untick this box.",
        "too_short": "At least {min} characters.",
        "too_long": "At most {max} characters.",
        "range": "Must be between {min} and {max}.",
        "too_small": "Must be at least {min}.",
        "too_large": "Must be at most {max}.",
        "invalid_date": "Enter a valid date.",
        "invalid_time": "Enter a valid time.",
        "invalid_datetime": "Enter a valid date and time.",
        "pattern": "The value does not have the expected format.",
        "too_precise": "At most {digits} decimal places.",
        "invalid": "This value is not valid.",
    },
}

# marshmallow messages are error codes with this prefix, translated after loading.
_CODE = "@"
_BASE_ERRORS = {"required": "@required", "null": "@required", "validator_failed": "@invalid"}
_INVALID_CODES = {
    "textfield": "not_text",
    "textarea": "not_text",
    "number": "not_number",
    "checkbox": "not_boolean",
}


def validate_submission(
    form: FormDefinition,
    data: Mapping[str, Any],
    lang: str = "zh",
    *,
    dynamic_options: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """Check submitted data against ``form``; return clean JSON-ready values or raise `FormInvalid`.

    The result holds every editable field: numbers as int/float, checkboxes as bool,
    checklists as lists of str, dates/times as ISO strings, empty optional fields as None.
    HTML conventions apply: blank text counts as empty, a missing or blank checkbox is
    False ("on"/"true"/"1" are True), a required checkbox must be ticked, and a mapping with
    ``getlist`` (a multi-dict) gives all values of a checklist. Keys the form does not
    define, read-only fields and display components are silently dropped.

    Fields whose options come from a role (``options_from_role``) accept any text unless
    ``dynamic_options`` gives the allowed values for their key (e.g. the user names
    holding the role); ``dynamic_options`` also narrows fields with listed options.
    """
    if not isinstance(data, Mapping):
        raise TypeError("form data must be a mapping of field keys to values")
    try:
        schema_class = _schema_class(form)
    except TypeError:  # a hand-made FormField with an unhashable default
        schema_class = _schema_class.__wrapped__(form)
    language = _language(lang)
    errors: dict[str, list[str]] = {}
    try:
        result: dict[str, Any] = schema_class().load(data)
    except ValidationError as exc:
        result = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        for field_key, found in messages.items():
            texts: list[str] = []
            for code in _codes(found):
                text = _message(code, form.get_field(str(field_key)), language)
                if text not in texts:
                    texts.append(text)
            errors[str(field_key)] = texts
    for conditional in form.fields:
        if conditional.required_when is None or conditional.key in errors:
            continue
        other, expected = conditional.required_when
        if _as_text(result.get(other)) == expected and result.get(conditional.key) in (None, "", []):
            errors[conditional.key] = [_message("required", conditional, language)]
    for field_key, allowed in (dynamic_options or {}).items():
        form_field = form.get_field(field_key)
        if form_field is None or form_field.type not in _OPTION_TYPES:
            continue
        value = result.get(field_key)
        chosen = value if isinstance(value, list) else [] if value is None else [value]
        allowed_values = set(allowed)
        if any(item not in allowed_values for item in chosen):
            errors[field_key] = [_message("not_option", form_field, language)]
    if errors:
        raise FormInvalid(_MESSAGES[language]["form"], errors)
    return result


def _as_text(value: Any) -> str:
    """A loaded value as ``requiredWhen`` compares it ("true"/"false" for checkboxes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _language(lang: str) -> str:
    """ "en" for English language tags ("en", "en-US", "en_GB"), otherwise "zh"."""
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in _MESSAGES else "zh"


def _codes(messages: Any) -> list[str]:
    """The error codes (prefix removed) in marshmallow's nested messages; "invalid" for others."""
    if isinstance(messages, str):
        return [messages[len(_CODE) :] if messages.startswith(_CODE) else "invalid"]
    if isinstance(messages, Mapping):
        messages = list(messages.values())
    codes: list[str] = []
    for item in messages if isinstance(messages, list | tuple) else [messages]:
        codes.extend(_codes(item))
    return codes


def _message(code: str, form_field: FormField | None, language: str) -> str:
    """The user-facing text for one error code."""
    table = _MESSAGES[language]
    template = table.get(code, table["invalid"])
    if form_field is None:
        low: Number | None = None
        high: Number | None = None
    elif code in ("too_short", "too_long"):
        low, high = form_field.min_length, form_field.max_length
    else:
        low, high = form_field.min, form_field.max
    digits = form_field.decimal_digits if form_field is not None else None
    return template.format(min=_show_number(low), max=_show_number(high), digits=_show_number(digits))


def _show_number(value: Number | None) -> str:
    """A bound as the user would write it (``5`` rather than ``5.0``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _FormSchema(Schema):
    """Base of the generated schemas: drops unknown keys and normalizes HTML-style blanks."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _normalize(self, data: Any, **kwargs: Any) -> Any:
        """Keep only the form's keys; turn blank values into None, False or []."""
        if not isinstance(data, Mapping):
            return data
        getlist = getattr(data, "getlist", None)
        clean: dict[str, Any] = {}
        for schema_field in self.load_fields.values():
            key = schema_field.data_key or schema_field.name or ""
            if key not in data:
                continue
            kind = schema_field.metadata.get("kind")
            if kind == "checklist":
                value = getlist(key) if callable(getlist) else data[key]
                if _is_blank(value):
                    value = []
                elif isinstance(value, list | tuple):
                    value = [item for item in value if not _is_blank(item)]
            else:
                value = data[key]
                if _is_blank(value):
                    value = False if kind == "checkbox" else None
            clean[key] = value
        return clean


def _is_blank(value: Any) -> bool:
    """Whether an HTML-submitted value means "nothing entered"."""
    return value is None or (isinstance(value, str) and not value.strip())


class _NumberField(ma_fields.Field[Number]):
    """An int or float, from a number or numeric text."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Number:
        try:
            return _to_number(value)
        except ValueError:
            raise self.make_error("invalid") from None


class _ChoiceField(ma_fields.String):
    """One option value (numbers accepted as their text)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class _CheckboxField(ma_fields.Field[bool]):
    """A bool, from a bool or HTML checkbox text."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        try:
            return _to_bool(value)
        except ValueError:
            raise self.make_error("invalid") from None


class _ChecklistField(ma_fields.Field[list[str]]):
    """A list of option values (a single value is a list of one), duplicates removed."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise self.make_error("invalid")
        clean: list[str] = []
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                raise self.make_error("invalid")
            if item not in clean:
                clean.append(item)
        return clean


class _TemporalField(ma_fields.Field[str]):
    """An ISO date, time or date-time string, per the form-js ``subtype``."""

    def __init__(self, subtype: str, **kwargs: Any) -> None:
        self.subtype = subtype
        super().__init__(**kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        try:
            return _to_temporal(value, self.subtype)
        except ValueError:
            raise self.make_error("invalid") from None


class _SearchPattern(validate.Validator):
    """Fails unless the regular expression matches somewhere in the value (form-js semantics)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __call__(self, value: str) -> str:
        if not self.pattern.search(value):
            raise ValidationError(f"{_CODE}pattern")
        return value


class _DecimalDigits(validate.Validator):
    """Fails when a number has more digits after the decimal point than allowed."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __call__(self, value: Number) -> Number:
        exponent = Decimal(str(value)).normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.digits:
            raise ValidationError(f"{_CODE}too_precise")
        return value


def _must_be_ticked(value: bool) -> None:
    """A required checkbox must be ticked."""
    if value is not True:
        raise ValidationError(f"{_CODE}required")


def _range_validator(low: Number | None, high: Number | None) -> validate.Range:
    """A Range validator whose error code says which bounds apply."""
    if low is not None and high is not None:
        code = "range"
    elif low is not None:
        code = "too_small"
    else:
        code = "too_large"
    return validate.Range(min=low, max=high, error=f"{_CODE}{code}")


def _schema_field(form_field: FormField) -> ma_fields.Field[Any]:
    """The marshmallow field checking one form field."""
    validators: list[Any] = []
    ftype = form_field.type
    field_class: type[ma_fields.Field[Any]]
    extra: dict[str, Any] = {}
    invalid = "not_option" if ftype in _OPTION_TYPES else _INVALID_CODES.get(ftype, "invalid")
    if ftype in _TEXT_TYPES:
        field_class = ma_fields.String
        if form_field.min_length is not None:
            validators.append(validate.Length(min=form_field.min_length, error=f"{_CODE}too_short"))
        if form_field.max_length is not None:
            validators.append(validate.Length(max=form_field.max_length, error=f"{_CODE}too_long"))
        if form_field.pattern:
            validators.append(_SearchPattern(form_field.pattern))
    elif ftype == "number":
        field_class = _NumberField
        if form_field.min is not None or form_field.max is not None:
            validators.append(_range_validator(form_field.min, form_field.max))
        if form_field.decimal_digits is not None:
            validators.append(_DecimalDigits(form_field.decimal_digits))
    elif ftype == "checkbox":
        field_class = _CheckboxField
        if form_field.required:
            validators.append(_must_be_ticked)
    elif ftype == "checklist":
        field_class = _ChecklistField
        if not form_field.has_dynamic_options:
            validators.append(validate.ContainsOnly(form_field.option_values, error=f"{_CODE}not_option"))
        if form_field.required:
            validators.append(validate.Length(min=1, error=f"{_CODE}required"))
    elif ftype == "datetime":
        field_class = _TemporalField
        extra["subtype"] = form_field.subtype or "date"
        invalid = f"invalid_{extra['subtype']}"
    else:  # select, radio
        field_class = _ChoiceField
        if not form_field.has_dynamic_options:
            validators.append(validate.OneOf(form_field.option_values, error=f"{_CODE}not_option"))

    if form_field.required:
        extra.update(required=True, allow_none=False)
    elif ftype == "checkbox":
        extra.update(load_default=False, allow_none=False)
    elif ftype == "checklist":
        extra.update(load_default=list, allow_none=False)
    else:
        extra.update(load_default=None, allow_none=True)
    return field_class(
        data_key=form_field.key,
        attribute=form_field.key,
        validate=validators,
        error_messages={**_BASE_ERRORS, "invalid": _CODE + invalid, "invalid_utf8": _CODE + invalid},
        metadata={"kind": ftype},
        **extra,
    )


@functools.lru_cache(maxsize=256)
def _schema_class(form: FormDefinition) -> type[Schema]:
    """The (cached) marshmallow schema class for a form's editable fields."""
    declared = {
        f"field_{index}": _schema_field(form_field)
        for index, form_field in enumerate(form.fields)
        if form_field.accepts_input
    }
    return _FormSchema.from_dict(declared, name=f"FormSchema_{form.key}")
