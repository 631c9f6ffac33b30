"""Parse form-js files into form definitions, reporting every problem a process owner must fix."""

from __future__ import annotations

import json
import keyword
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.definitions.forms.model import (
    _KEY_PATTERN,
    _OPTION_TYPES,
    _TEXT_TYPES,
    DATETIME_SUBTYPES,
    DISPLAY_TYPES,
    FIELD_TYPES,
    FORM_FILE_SUFFIX,
    GROUP_TYPES,
    FormDefinition,
    FormField,
    FormProblem,
    Number,
    Option,
)
from engine.definitions.forms.plausibility import field_bounds
from engine.definitions.forms.values import _to_bool, _to_number, _to_temporal


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
        _parse_group(component, name, position, hidden_by_condition, found, problems)
        return
    properties = component.get("properties", {})
    if not isinstance(properties, dict):
        problems.append(f"{name} has 'properties' that are not a JSON object")
        properties = {}
    if ctype in DISPLAY_TYPES:
        found.append((position, _display_field(component, ctype, properties)))
    elif ctype not in FIELD_TYPES:
        problems.append(f"{name} (type {ctype!r}) is not a supported field type")
    else:
        field = _input_field(component, ctype, name, properties, hidden_by_condition, problems)
        if field is not None:
            found.append((position, field))


def _parse_group(
    component: dict[str, Any],
    name: str,
    position: str,
    hidden_by_condition: bool,
    found: list[tuple[str, FormField]],
    problems: list[str],
) -> None:
    """Parse the children of a group component (whose data stays flat)."""
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


def _display_field(component: dict[str, Any], ctype: str, properties: dict[str, Any]) -> FormField:
    """A text or spacer component: shown to the user, never submitted."""
    body = _string(component.get("text"))
    return FormField(
        key="",
        type=ctype,
        label_zh="",
        label_en="",
        description=body,
        description_en=_string(properties.get("text_en")) or body,
    )


def _input_field(
    component: dict[str, Any],
    ctype: str,
    name: str,
    properties: dict[str, Any],
    hidden_by_condition: bool,
    problems: list[str],
) -> FormField | None:
    """The field of one input component, or None (with problems described) when it is wrong."""
    count_before = len(problems)
    key = _field_key(component.get("key"), ctype, name, problems)
    subtype = _datetime_subtype(component, name, problems) if ctype == "datetime" else None
    label_zh = _string(component.get("label"))
    if not label_zh and ctype == "datetime":
        label_zh = _string(component.get("timeLabel" if subtype == "time" else "dateLabel"))
    description = _string(component.get("description"))
    readonly = _readonly(component, name, problems)
    rules = component.get("validate", {})
    if not isinstance(rules, dict):
        problems.append(f"{name} has a 'validate' entry that is not a JSON object")
        rules = {}
    required = _required(rules, name, hidden_by_condition and not readonly, problems)
    text_rules = _text_rules(rules, name, problems) if ctype in _TEXT_TYPES else _TextRules()
    number_rules = _number_rules(component, rules, name, problems) if ctype == "number" else _NumberRules()
    choices = _option_rules(component, properties, name, problems) if ctype in _OPTION_TYPES else _Choices()
    required_when = _parse_required_when(properties.get("requiredWhen"), name, problems)
    if len(problems) > count_before:
        return None
    candidate = FormField(
        key=key,
        type=ctype,
        label_zh=label_zh,
        label_en=_string(properties.get("label_en")) or label_zh,
        required=required,
        options=choices.options,
        min=number_rules.low,
        max=number_rules.high,
        min_length=text_rules.min_length,
        max_length=text_rules.max_length,
        readonly=readonly,
        description=description,
        description_en=_string(properties.get("description_en")) or description,
        subtype=subtype,
        pattern=text_rules.pattern,
        options_from_role=choices.from_role,
        options_from_process=choices.from_process,
        decimal_digits=number_rules.decimal_digits,
        required_when=required_when,
    )
    candidate = replace(candidate, bounds=_bounds(candidate, properties, name, problems))
    default = _parse_default(candidate, component, name, problems)
    if len(problems) > count_before:
        return None
    return _replace_default(candidate, default)


def _bounds(field: FormField, properties: dict[str, Any], name: str, problems: list[str]) -> tuple[Any, ...]:
    """The field's plausibility bounds; an expression that is not Python is a problem."""
    found = field_bounds(field, properties)
    for bound in found:
        try:
            compile(bound.expression, f"<{bound.rule}>", "eval")
        except SyntaxError:
            problems.append(f"{name} has a {bound.rule} that is not an expression: {bound.expression}")
    return found


def _field_key(raw_key: Any, ctype: str, name: str, problems: list[str]) -> str:
    """The component's key, which scripts read as a variable name."""
    if not isinstance(raw_key, str) or not raw_key:
        problems.append(f"{name} (type {ctype!r}) has no key")
        return ""
    if not _KEY_PATTERN.fullmatch(raw_key) or keyword.iskeyword(raw_key):
        problems.append(
            f"{name} has a key that cannot be used as a variable name; use ASCII letters, "
            "digits and underscores, starting with a letter"
        )
    return raw_key


def _datetime_subtype(component: dict[str, Any], name: str, problems: list[str]) -> str | None:
    """Whether a datetime component asks for a date, a time or both."""
    subtype_value = component.get("subtype", "date")
    if subtype_value in DATETIME_SUBTYPES:
        return str(subtype_value)
    problems.append(f"{name} has the datetime subtype {subtype_value!r}; use 'date', 'time' or 'datetime'")
    return None


def _readonly(component: dict[str, Any], name: str, problems: list[str]) -> bool:
    """Whether the component is read-only or disabled (conditions on these are not supported)."""
    readonly = False
    for flag in ("readonly", "disabled"):
        flag_value = component.get(flag, False)
        if isinstance(flag_value, bool):
            readonly = readonly or flag_value
        else:
            problems.append(f"{name} has a '{flag}' condition; only true or false is supported")
    return readonly


def _required(rules: dict[str, Any], name: str, may_be_hidden: bool, problems: list[str]) -> bool:
    """Whether the field is required; a required field a condition may hide cannot be checked."""
    required = rules.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{name} has a 'required' setting that is not true or false")
        return False
    if required and may_be_hidden:
        problems.append(
            f"{name} is required but can be hidden by a condition, which the server cannot evaluate; "
            "make it optional or remove the condition"
        )
    return bool(required)


@dataclass(frozen=True)
class _TextRules:
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


def _text_rules(rules: dict[str, Any], name: str, problems: list[str]) -> _TextRules:
    """The length limits and pattern of a text field."""
    min_length = _length_rule(rules, "minLength", name, problems)
    max_length = _length_rule(rules, "maxLength", name, problems)
    if min_length is not None and max_length is not None and min_length > max_length:
        problems.append(f"{name} has a minimum length greater than its maximum length")
    pattern = None
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
    return _TextRules(min_length, max_length, pattern)


@dataclass(frozen=True)
class _NumberRules:
    low: Number | None = None
    high: Number | None = None
    decimal_digits: int | None = None


def _number_rules(
    component: dict[str, Any], rules: dict[str, Any], name: str, problems: list[str]
) -> _NumberRules:
    """The bounds and decimal places of a number field."""
    low = _number_rule(rules, "min", name, problems)
    high = _number_rule(rules, "max", name, problems)
    if low is not None and high is not None and low > high:
        problems.append(f"{name} has a minimum greater than its maximum")
    return _NumberRules(low, high, _length_rule(component, "decimalDigits", name, problems))


@dataclass(frozen=True)
class _Choices:
    options: tuple[Option, ...] = ()
    from_role: str | None = None
    from_process: str | None = None


def _option_rules(
    component: dict[str, Any], properties: dict[str, Any], name: str, problems: list[str]
) -> _Choices:
    """The listed options of a choice field, or the role or process whose users or cases they are."""
    process = properties.get("optionsFromProcess")
    if process not in (None, ""):
        if not isinstance(process, str) or not _KEY_PATTERN.fullmatch(process):
            problems.append(f"{name} has an optionsFromProcess that is not a process id")
        elif component.get("values") or properties.get("optionsFromRole"):
            problems.append(f"{name} has optionsFromProcess and other options; use one of them")
        else:
            return _Choices(from_process=process)
        return _Choices()
    role = properties.get("optionsFromRole")
    if role in (None, ""):
        return _Choices(options=_parse_options(component, name, problems))
    if not isinstance(role, str):
        problems.append(f"{name} has an optionsFromRole that is not a role key")
    elif component.get("values") is not None:
        problems.append(f"{name} has both listed options and optionsFromRole; use one of them")
    else:
        return _Choices(from_role=role)
    return _Choices()


def _parse_required_when(value: Any, name: str, problems: list[str]) -> tuple[str, str] | None:
    """The ``(key, value)`` of a ``requiredWhen`` property written "key=value" (None if absent)."""
    if value in (None, ""):
        return None
    key, separator, expected = value.partition("=") if isinstance(value, str) else ("", "", "")
    if not separator or not _KEY_PATTERN.fullmatch(key.strip()) or not expected.strip():
        problems.append(f"{name} has a requiredWhen that is not written as other_field=value")
        return None
    return key.strip(), expected.strip()


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
