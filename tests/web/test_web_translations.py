"""Every message of the web pages has a Chinese translation: none missing, none fuzzy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def extracted(tmp_path: Path) -> dict[str, list[str]]:
    """The messages in the sources, as ``pybabel extract -F babel.cfg -k _l`` finds them, with their files."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            *(sys.executable, "-c", "from babel.messages.frontend import main; main()", "extract"),
            # The mapping patterns in babel.cfg start with "web/", so extraction starts at the root.
            *("-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {
            str(m.id if isinstance(m.id, str) else m.id[0]): [file for file, _line in m.locations]
            for m in read_po(f)
            if m.id
        }


def test_every_message_is_translated_to_chinese(tmp_path: Path) -> None:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    translations = {str(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    missing, empty, fuzzy = [], [], []
    messages = extracted(tmp_path)
    assert len(messages) > 300, "the extraction found (almost) no messages: check babel.cfg's paths"
    for message_id in messages:
        message = translations.get(message_id)
        if message is None:
            missing.append(message_id)
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            empty.append(message_id)
        if message.fuzzy:
            fuzzy.append(message_id)
    assert not missing, f"not in messages.po (run pybabel update): {missing}"
    assert not empty, f"no Chinese translation: {empty}"
    assert not fuzzy, f"fuzzy translations: {fuzzy}"


def test_the_compiled_catalogue_has_every_translation() -> None:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    with CATALOG.with_suffix(".mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    stale = [m.id for m in catalog if m.id and m.string and compiled.get(_key(m.id)) != _key(m.string)]
    assert not stale, f"messages.mo is older than messages.po (run make or pybabel compile): {stale[:5]}"


def _key(value: Any) -> Any:
    return value if isinstance(value, str) else tuple(value)


#: Named BPMN elements that are keys, not words people read (messages, signals, data items).
UNREAD_ELEMENTS = {"message", "signal", "inputDataItem", "outputDataItem", "dataInput", "dataOutput", "error"}


def test_every_named_diagram_element_has_an_english_name() -> None:
    from lxml import etree

    bpmn = "http://www.omg.org/spec/BPMN/20100524/MODEL"
    spiff = "http://spiffworkflow.org/bpmn/schema/1.0/core"
    missing: list[str] = []
    checked = 0
    for path in sorted((ROOT / "diagrams").glob("*.bpmn")):
        for element in etree.parse(str(path)).getroot().iter(f"{{{bpmn}}}*"):
            local = etree.QName(element).localname
            if not element.get("name") or local in UNREAD_ELEMENTS:
                continue
            checked += 1
            english = [
                p.get("value") or ""
                for p in element.iterfind(
                    f"{{{bpmn}}}extensionElements/{{{spiff}}}properties/{{{spiff}}}property"
                )
                if p.get("name") == "name_en"
            ]
            if not english or not english[0].strip() or any("\u4e00" <= c <= "\u9fff" for c in english[0]):
                missing.append(f"{path.name}: {local} {element.get('id')} 「{element.get('name')}」")
    assert checked > 250
    assert not missing, f"no English name (property name_en): {missing}"


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def test_every_computed_title_has_an_english_expression_without_chinese_words() -> None:
    """A task whose name is computed (``title``) reads in English too (``title_en``): only the case's data may be Chinese."""
    import re

    from lxml import etree

    spiff = "http://spiffworkflow.org/bpmn/schema/1.0/core"
    missing: list[str] = []
    titled = 0
    for path in sorted((ROOT / "diagrams").glob("*.bpmn")):
        for properties in etree.parse(str(path)).getroot().iter(f"{{{spiff}}}properties"):
            found = {p.get("name"): p.get("value") or "" for p in properties.iterfind(f"{{{spiff}}}property")}
            if not found.get("title"):
                continue
            titled += 1
            english = found.get("title_en", "")
            literals = re.findall(r"'([^']*)'|\"([^\"]*)\"", english)
            if not english.strip() or any(_has_chinese(a + b) for a, b in literals):
                element = properties.getparent().getparent()
                missing.append(f"{path.name}: {element.get('id')} title_en={english!r}")
    assert titled >= 10
    assert not missing, f"computed titles without an English expression (property title_en): {missing}"


def test_every_form_title_label_option_and_help_text_has_an_english_text() -> None:
    import re

    from engine.definitions.forms import parse_form

    missing: list[str] = []
    fields = 0
    for path in sorted((ROOT / "diagrams" / "forms").glob("*.form.json")):
        form = parse_form(path.name.split(".")[0], path.read_text(encoding="utf-8"))
        texts = [("title", form.title_en)]
        for form_field in form.fields:
            fields += 1
            name = form_field.key or form_field.type
            if not form_field.is_display:
                texts.append((f"{name} label", form_field.label_en))
            if form_field.description:
                texts.append((f"{name} help text", form_field.description_en))
            texts.extend((f"{name} option {value}", english) for value, _zh, english in form_field.options)
        missing.extend(
            f"{path.name}: {what} {text!r}"
            for what, text in texts
            if not text.strip() or _has_chinese(re.sub(r"\[[^\]]*\]", "", text))  # seed citations stay
        )
    assert fields > 300
    assert not missing, f"form texts without English (label_en, text_en, description_en): {missing}"
