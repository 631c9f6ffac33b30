"""What validation reads the files into: forms, XML documents, decisions, processes, checked processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.definitions.forms import FormDefinition
from engine.definitions.vocabulary import BPMN_NS


@dataclass(frozen=True)
class _Form:
    file: str
    text: str
    definition: FormDefinition


@dataclass(frozen=True)
class _Document:
    name: str
    text: str
    root: Any
    namespace: str


@dataclass(frozen=True)
class _Decision:
    file: str
    text: str
    root: Any


@dataclass(frozen=True)
class _Process:
    key: str
    doc: _Document
    node: Any
    executable: bool


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


@dataclass
class _CheckedProcess:
    process: _Process
    meta: dict[str, Any]
    decisions: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
