"""Definitions: read BPMN, DMN and form files, check them, bundle and deploy them as versions."""

from engine.definitions.check import (
    BPMN_NS,
    DMN_NAMESPACES,
    FORM_SUFFIX,
    MAX_FILE_BYTES,
    SPIFF_NS,
    Problem,
    ProcessBundle,
    RoleResolver,
    ValidationResult,
    collect_files,
    validate_files,
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
