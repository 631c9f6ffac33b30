"""What validating a set of files gives: problems tied to elements, or bundles to deploy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from engine.store.serialization import ProcessSpecs
from engine.user_messages import Message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the files, tied to the element (or file) it concerns."""

    element_id: str
    message: str
    file: str | None = None
    #: The problem as a code the web words in each language (``message`` is then its code).
    code: Message | None = None

    def line(self) -> str:
        """Render as ``element_id: message`` on one line."""
        where = f" ({self.file})" if self.file and self.file != self.element_id else ""
        return _one_line(f"{self.element_id}: {self.message}{where}")


@dataclass
class ProcessBundle:
    """One executable process ready to deploy: its files, parsed specs and task metadata."""

    key: str
    name: str
    files: dict[str, str]
    specs: ProcessSpecs
    meta: dict[str, Any]
    checksum: str = ""

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(self.files[name].encode())
            digest.update(b"\0")
        self.checksum = digest.hexdigest()


@dataclass
class ValidationResult:
    """What reading a set of files gave: bundles to deploy, or the problems found."""

    bundles: list[ProcessBundle] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: What deploys but may not be meant (see ``engine.definitions.advisories``).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the files can be deployed."""
        return not self.problems


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _problem_from_exception(error: Exception, file: str, default_id: str | None = None) -> Problem:
    element_id = getattr(error, "id", None) or default_id or file
    if isinstance(error, RecursionError) or "maximum recursion depth" in str(error):
        return Problem(
            str(element_id),
            "the process has too many steps in a row for afterflow's parser (a few hundred at most); "
            "split it into subprocesses or called processes",
            file,
        )
    message = _plain(error)
    if isinstance(error, KeyError | IndexError | AttributeError | TypeError):
        message = f"the file could not be read ({type(error).__name__}: {message})"
    line = getattr(error, "line_number", None) or getattr(error, "sourceline", None)
    if line:
        message = f"{message} (line {line})"
    return Problem(str(element_id), message, file)


def _plain(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip() or type(error).__name__
    return _one_line(text.splitlines()[0])
