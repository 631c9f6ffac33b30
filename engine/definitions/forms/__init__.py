"""Forms: form-js files parsed into definitions, and submissions checked against them."""

from engine.definitions.forms.model import (
    DATETIME_SUBTYPES,
    DISPLAY_TYPES,
    FIELD_TYPES,
    FORM_FILE_SUFFIX,
    GROUP_TYPES,
    FormDefinition,
    FormField,
    FormProblem,
)
from engine.definitions.forms.parse import load_forms, parse_form
from engine.definitions.forms.submissions import FIELD_ERRORS, validate_submission

__all__ = [
    "DATETIME_SUBTYPES",
    "DISPLAY_TYPES",
    "FIELD_ERRORS",
    "FIELD_TYPES",
    "FORM_FILE_SUFFIX",
    "GROUP_TYPES",
    "FormDefinition",
    "FormField",
    "FormProblem",
    "load_forms",
    "parse_form",
    "validate_submission",
]
