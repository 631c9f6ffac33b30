"""Check a submission against its form with a marshmallow schema built from the fields."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, pre_load, validate
from marshmallow import fields as ma_fields

from engine.definitions.forms.model import (
    _OPTION_TYPES,
    _TEXT_TYPES,
    SIGNATURE_TYPE,
    FormDefinition,
    FormField,
    Number,
)
from engine.definitions.forms.values import _to_bool, _to_number, _to_temporal
from engine.errors import FormInvalid
from engine.signatures.images import BadSignatureImage, png_from_data_url
from engine.user_messages import Message

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
    errors: dict[str, list[Message]] = {}
    try:
        result: dict[str, Any] = schema_class().load(data)
    except ValidationError as exc:
        result = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        for field_key, found in messages.items():
            texts: list[Message] = []
            for code in _codes(found):
                text = _message(code, form.get_field(str(field_key)))
                if text not in texts:
                    texts.append(text)
            errors[str(field_key)] = texts
    _check_required_when(form, result, errors)
    for field_key, allowed in (dynamic_options or {}).items():
        form_field = form.get_field(field_key)
        if form_field is None or form_field.type not in _OPTION_TYPES:
            continue
        value = result.get(field_key)
        chosen = value if isinstance(value, list) else [] if value is None else [value]
        allowed_values = set(allowed)
        if any(item not in allowed_values for item in chosen):
            errors[field_key] = [_message("not_option", form_field)]
    if errors:
        raise FormInvalid("the form has errors; check the marked fields", errors)
    return result


def _check_required_when(
    form: FormDefinition, result: dict[str, Any], errors: dict[str, list[Message]]
) -> None:
    """Require the fields whose ``requiredWhen`` condition the submission meets."""
    for conditional in form.fields:
        if conditional.required_when is None or conditional.key in errors:
            continue
        other, expected = conditional.required_when
        value = result.get(conditional.key)
        missing = value is not True if conditional.type == "checkbox" else value in (None, "", [])
        if _as_text(result.get(other)) == expected and missing:  # a checkbox must then be ticked
            errors[conditional.key] = [_message("required", conditional)]


def _as_text(value: Any) -> str:
    """A loaded value as ``requiredWhen`` compares it ("true"/"false" for checkboxes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


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


#: The error codes of a field, with the bounds each one's wording names.
FIELD_ERRORS: dict[str, tuple[str, ...]] = {
    "required": (),
    "not_option": (),
    "not_number": (),
    "not_text": (),
    "not_boolean": (),
    "too_short": ("min",),
    "too_long": ("max",),
    "range": ("min", "max"),
    "too_small": ("min",),
    "too_large": ("max",),
    "invalid_date": (),
    "invalid_time": (),
    "invalid_datetime": (),
    "pattern": (),
    "too_precise": ("digits",),
    "invalid": (),
    "signature_missing": (),
    "signature_name": (),
    "signature_reason": (),
    "signature_not_png": (),
    "signature_too_large": (),
}


def _message(code: str, form_field: FormField | None) -> Message:
    """The message of one error code (``form.<code>``), with the field's bounds it names."""
    if code not in FIELD_ERRORS:
        code = "invalid"
    if form_field is None:
        low: Number | None = None
        high: Number | None = None
    elif code in ("too_short", "too_long"):
        low, high = form_field.min_length, form_field.max_length
    else:
        low, high = form_field.min, form_field.max
    digits = form_field.decimal_digits if form_field is not None else None
    bounds = {"min": _show_number(low), "max": _show_number(high), "digits": _show_number(digits)}
    return Message(f"form.{code}", {name: bounds[name] for name in FIELD_ERRORS[code]})


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


#: The longest signer's name and refusal reason kept.
MAX_SIGNER_NAME = 64
MAX_REFUSAL_REASON = 500


class _SignatureField(ma_fields.Field[dict[str, Any]]):
    """A drawn signature with the signer's typed name, or a refusal with its reason.

    The submission is a mapping: ``image`` (a PNG data URL), ``name``, ``refused``, ``reason``.
    The clean value keeps the PNG as base64 for the command to store as a signature record.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValidationError(f"{_CODE}signature_missing")
        name = _as_text(value.get("name")).strip()
        if _as_text(value.get("refused")).strip().lower() in _TRUE_TEXTS:
            reason = _as_text(value.get("reason")).strip()
            if not reason or len(reason) > MAX_REFUSAL_REASON:
                raise ValidationError(f"{_CODE}signature_reason")
            return {"refused": True, "reason": reason, "name": name[:MAX_SIGNER_NAME] or None, "image": None}
        if _is_blank(value.get("image")):
            raise ValidationError(f"{_CODE}signature_missing")
        try:
            png = png_from_data_url(value.get("image"))
        except BadSignatureImage as error:
            raise ValidationError(f"{_CODE}{error.code}") from None
        if not name or len(name) > MAX_SIGNER_NAME:
            raise ValidationError(f"{_CODE}signature_name")
        return {
            "refused": False,
            "reason": None,
            "name": name,
            "image": base64.b64encode(png).decode("ascii"),
        }


#: A required signature left empty says what is missing: the signature or the refusal.
_UNSIGNED = {"required": f"{_CODE}signature_missing", "null": f"{_CODE}signature_missing"}
_TRUE_TEXTS = frozenset({"on", "true", "1", "yes"})


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
    elif ftype == SIGNATURE_TYPE:
        field_class = _SignatureField
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
        error_messages=_error_codes(ftype, invalid),
        metadata={"kind": ftype},
        **extra,
    )


def _error_codes(ftype: str, invalid: str) -> dict[str, Any]:
    """marshmallow's error messages of a field: our codes, a signature's own for "missing"."""
    unsigned = _UNSIGNED if ftype == SIGNATURE_TYPE else {}
    return {**_BASE_ERRORS, **unsigned, "invalid": _CODE + invalid, "invalid_utf8": _CODE + invalid}


@functools.lru_cache(maxsize=256)
def _schema_class(form: FormDefinition) -> type[Schema]:
    """The (cached) marshmallow schema class for a form's editable fields."""
    declared = {
        f"field_{index}": _schema_field(form_field)
        for index, form_field in enumerate(form.fields)
        if form_field.accepts_input
    }
    return _FormSchema.from_dict(declared, name=f"FormSchema_{form.key}")
