"""Definitions: read BPMN, DMN and form files, check them, bundle and deploy them as versions."""

from engine.definitions.files import collect_files
from engine.definitions.results import Problem, ProcessBundle, ValidationResult
from engine.definitions.validate import validate_files
from engine.definitions.vocabulary import (
    BPMN_NS,
    DMN_NAMESPACES,
    FORM_SUFFIX,
    MAX_FILE_BYTES,
    SPIFF_NS,
    RoleResolver,
)

__all__ = [
    "BPMN_NS",
    "DMN_NAMESPACES",
    "FORM_SUFFIX",
    "MAX_FILE_BYTES",
    "SPIFF_NS",
    "Problem",
    "ProcessBundle",
    "RoleResolver",
    "ValidationResult",
    "collect_files",
    "validate_files",
]
