"""Names of processes and their elements in other languages, carried in the diagram itself.

An element's ``name`` attribute is its name in the default language. Any BPMN element (the
process, a task, an event, a gateway, a sequence flow, a lane…) may carry its name in another
language as the SpiffWorkflow property ``name_<lang>``::

    <bpmn:userTask id="approve" name="审批">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name_en" value="Approve" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>

The deployed version's metadata keeps the flow nodes' properties and the process's
(``element_properties``, ``process.properties``); ``element_name`` and ``process_name`` read them.
``translated_xml`` gives a diagram with every element named in the language, for viewers.

A human task whose name is computed from the case (the ``title`` expression, such as
``'通知 ' + customer['customer_name']``) carries the expression of each other language as
``title_<lang>``; the projection computes them with the title and keeps them on the task's
``task_created`` event (``engine/store/task_titles.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.definitions.vocabulary import SPIFF_NS

PREFIX = "name_"
#: A human task's title computed from the case (``title``) in another language: ``title_<lang>``.
TITLE_PREFIX = "title_"


def name_property(lang: str) -> str:
    """The property that carries a name in ``lang`` (``name_en``)."""
    return f"{PREFIX}{lang}"


def translated_titles(properties: Mapping[str, Any]) -> dict[str, str]:
    """A task's ``title_<lang>`` properties (expressions, like ``title``) by language."""
    return {
        name[len(TITLE_PREFIX) :]: str(value)
        for name, value in properties.items()
        if name.startswith(TITLE_PREFIX) and len(name) > len(TITLE_PREFIX) and value
    }


def process_translation(meta: Mapping[str, Any], lang: str) -> str | None:
    """A deployed process's ``name_<lang>`` property, or None."""
    translated = meta.get("process", {}).get("properties", {}).get(name_property(lang))
    return str(translated) if translated else None


def process_name(meta: Mapping[str, Any], lang: str) -> str:
    """A deployed process's name in ``lang`` (its ``name`` when the diagram has none in that language)."""
    return process_translation(meta, lang) or str(meta.get("process", {}).get("name") or "")


def translation(meta: Mapping[str, Any], element_id: str, lang: str) -> str | None:
    """An element's ``name_<lang>`` property, or None when the diagram gives it no name in ``lang``."""
    translated = meta.get("element_properties", {}).get(element_id, {}).get(name_property(lang))
    return str(translated) if translated else None


def element_name(meta: Mapping[str, Any], element_id: str, lang: str, default: str | None = None) -> str:
    """An element's name in ``lang``: its ``name_<lang>`` property, else its name, else its id."""
    return (
        translation(meta, element_id, lang)
        or default
        or meta.get("elements", {}).get(element_id)
        or element_id
    )


def names_in(meta: Mapping[str, Any], lang: str) -> dict[str, str]:
    """Every flow node's name in ``lang`` by element id (those without one keep their name)."""
    return {element_id: element_name(meta, element_id, lang) for element_id in meta.get("elements", {})}


def translated_xml(xml: str, lang: str) -> str:
    """The BPMN file with every element that carries a ``name_<lang>`` property named so.

    Returns the text unchanged when no element is named in ``lang`` (or it cannot be read).
    """
    if name_property(lang) not in xml:
        return xml
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, encoding="utf-8"
    )
    try:
        root = etree.fromstring(xml.lstrip("\ufeff").encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return xml
    wanted = name_property(lang)
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") != wanted or not prop.get("value"):
            continue
        holder = prop.getparent()
        extension = holder.getparent() if holder is not None else None
        element = extension.getparent() if extension is not None else None
        if element is not None and element.get("name") is not None:
            element.set("name", prop.get("value"))
    return str(etree.tostring(root, encoding="unicode"))
