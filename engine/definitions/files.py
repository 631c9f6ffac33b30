"""Read model files from disk and parse XML safely (no DOCTYPE, no entities, no network)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from engine.definitions.results import Problem, _plain
from engine.definitions.vocabulary import FORM_SUFFIX, MAX_FILE_BYTES


def collect_files(paths: Iterable[str | Path]) -> tuple[dict[str, str], list[Problem]]:
    """Read ``*.bpmn``, ``*.dmn`` and ``*.form.json`` files from files and folders (recursively)."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for raw in paths:
        for candidate in _candidates(Path(raw), problems):
            text = _read_text(candidate, problems)
            if text is None:
                continue
            if candidate.name in files:
                problems.append(
                    Problem(candidate.name, "two files have this name; file names must be unique")
                )
                continue
            files[candidate.name] = text
    return files, problems


def _candidates(path: Path, problems: list[Problem]) -> list[Path]:
    try:
        if path.is_dir():
            return sorted(p for p in path.rglob("*") if p.is_file() and _is_model_file(p.name))
        if path.is_file():
            if not _is_model_file(path.name):
                problems.append(Problem(path.name, "not a .bpmn, .dmn or .form.json file"))
                return []
            return [path]
    except OSError as error:
        problems.append(Problem(str(path), f"the folder cannot be read: {error.strerror or error}"))
        return []
    problems.append(Problem(str(path), "no such file or folder"))
    return []


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(path.name, "the file is larger than 5 MB"))
            return None
        data = path.read_bytes()
    except OSError as error:
        problems.append(Problem(path.name, f"the file cannot be read: {error.strerror or error}"))
        return None
    text = _decode(data)
    if text is None:
        problems.append(Problem(path.name, "the file is not UTF-8 text"))
    return text


def _decode(data: bytes) -> str | None:
    """Decode UTF-8 (a byte order mark is dropped) or UTF-16 with a byte order mark."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _is_model_file(name: str) -> bool:
    return name.endswith((".bpmn", ".dmn", FORM_SUFFIX))


_DOCTYPE = re.compile(r"<!(DOCTYPE|ENTITY)\b", re.IGNORECASE)
_HTML = re.compile(
    r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL
)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_LINE_COLUMN = re.compile(r",? line \d+, column \d+$")


def _parse_xml(name: str, text: str, problems: list[Problem]) -> Any | None:
    """Parse XML safely (no DTD, no entities, no network); report why a file cannot be read."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        problems.append(Problem(name, "the file is empty"))
        return None
    if _HTML.match(text):
        problems.append(Problem(name, "the file is an HTML page, not a diagram; export the diagram as XML"))
        return None
    if _DOCTYPE.search(_prolog(text)):
        problems.append(
            Problem(
                name,
                "the file declares a DOCTYPE or entities, which afterflow refuses to read "
                "(they can expand to huge or secret content); remove the <!DOCTYPE ...> part",
            )
        )
        return None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",
    )
    try:
        return etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        problems.append(Problem(name, _xml_error_message(error)))
    except (ValueError, TypeError) as error:
        problems.append(Problem(name, f"the file cannot be read as XML: {_plain(error)}"))
    return None


def _prolog(text: str) -> str:
    """The text before the root element (where a DOCTYPE and its entities would be)."""
    first = _FIRST_ELEMENT.search(text)
    return text[: first.start()] if first else text


def _xml_error_message(error: etree.XMLSyntaxError) -> str:
    detail = _LINE_COLUMN.sub("", str(error.msg or error).strip())
    if "Excessive depth" in detail:
        detail = "elements are nested more than 256 levels deep"
    line = f" (line {error.lineno})" if error.lineno else ""
    return f"the file is not well-formed XML{line}: {detail}"


def _qname(node: Any) -> tuple[str, str]:
    name = etree.QName(node)
    return name.namespace or "", name.localname


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _where(node: Any) -> str:
    """Name an element that has no id: its tag and line."""
    return f"{_qname(node)[1]} on line {node.sourceline}"
