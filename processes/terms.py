"""The company's words: forms and documents speak of 药品 only for a pharmaceutical company.

The company's industry is a setting (``company_profile.dmn``, row ``industry``). The term table
``industry_terms.dmn`` (hit policy COLLECT) says, for each industry, a word the diagrams and
forms use (药品, 药监部门, drug …) and the word that replaces it. The sales return calls both
decisions (the words a case was handled in stay in its data), so both files are deployed with it. The process owner edits both in the
modeler's DMN editor and deploys; the next page shown uses the new words, since labels are
resolved when a page or a document is rendered, not when a form is drawn.

A pharmaceutical company has no rows, so it keeps the forms' own words. Longer terms are
replaced first (药品监督管理部门 before 药品).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import ProcessDefinition

PROFILE_FILE = "company_profile.dmn"
TERMS_FILE = "industry_terms.dmn"
#: The processes whose deployed files carry both tables (they call their decisions).
PROFILE_PROCESSES = ("sales_return",)
#: The industry when no profile is deployed: the forms' own words.
DEFAULT_INDUSTRY = "pharmaceutical"


@dataclass(frozen=True)
class CompanyWords:
    """The company's industry and the replacements its term table gives for it."""

    industry: str = DEFAULT_INDUSTRY
    replacements: tuple[tuple[str, str], ...] = ()

    def say(self, text: str) -> str:
        """The text in the company's words."""
        if not text or not self.replacements:
            return text
        for term, replacement in self.replacements:
            if term in text:
                text = text.replace(term, replacement)
        return text


def words_of(profile: str | None, terms: str | None) -> CompanyWords:
    """The industry ``company_profile.dmn`` sets and the replacements ``industry_terms.dmn`` gives it."""
    industry = DEFAULT_INDUSTRY
    for inputs, outputs in _rows(profile):
        if inputs[:1] == ("'industry'",) and outputs and _literal(outputs[0]):
            industry = _literal(outputs[0])
            break
    pairs: list[tuple[str, str]] = []
    for inputs, outputs in _rows(terms):
        if inputs and len(outputs) >= 2 and _literal(outputs[0]) and _matches(inputs[0], industry):
            pairs.append((_literal(outputs[0]), _literal(outputs[1])))
    pairs.sort(key=lambda pair: -len(pair[0]))
    return CompanyWords(industry, tuple(pairs))


def company_words(session: Session) -> CompanyWords:
    """The words of the newest deployed company profile and term table (the forms' own when none)."""
    files = session.scalar(
        select(ProcessDefinition.files)
        .where(ProcessDefinition.process_key.in_(PROFILE_PROCESSES))
        .order_by(ProcessDefinition.id.desc())
        .limit(1)
    )
    return words_of((files or {}).get(PROFILE_FILE), (files or {}).get(TERMS_FILE))


def _rows(text: str | None) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each rule of a decision table file: its input and output cells as written."""
    if not text:
        return []
    try:
        root = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return []
    return [
        (
            tuple((cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}inputEntry")),
            tuple((cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}outputEntry")),
        )
        for rule in root.iter("{*}rule")
    ]


def _literal(text: str) -> str:
    """A cell holding a quoted string, as text ('' for anything else)."""
    try:
        value = ast.literal_eval(text) if text else ""
    except (ValueError, SyntaxError):
        return ""
    return value if isinstance(value, str) else ""


def _matches(test: str, industry: str) -> bool:
    """Whether an input cell's test (empty, ``'x'``, ``!= 'x'``, ``? in ('x', 'y')``) holds for ``industry``."""
    test = test.removeprefix("?").strip()
    if not test:
        return True
    if test.startswith("!="):
        return _literal(test[2:].strip()) != industry
    if test.startswith("in "):
        try:
            choices = ast.literal_eval(test[3:].strip())
        except (ValueError, SyntaxError):
            return False
        return isinstance(choices, tuple | list) and industry in choices
    return _literal(test) == industry
