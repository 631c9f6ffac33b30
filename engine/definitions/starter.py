"""The first diagram of a new process: a start, one task in one lane and an end, or a copy of another."""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

#: A process id afterflow accepts for a new process: a letter, then letters, digits and underscores.
PROCESS_KEY = re.compile(r"^[a-z][a-z0-9_]{2,63}$")


def starter_bpmn(process_key: str, name: str, lane: str, task_name: str) -> str:
    """Return the BPMN of a new executable process ``process_key`` with its diagram."""
    if not PROCESS_KEY.match(process_key):
        raise ValueError(f"{process_key!r} is not a process id (a-z, 0-9, _; 3–64 characters)")
    key, title, lane_name, task = (quoteattr(v) for v in (process_key, name, lane, task_name))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs_{process_key}" targetNamespace="http://afterflow.local/bpmn">
  <bpmn:collaboration id="collab_{process_key}">
    <bpmn:participant id="participant_{process_key}" name={title} processRef={key} />
  </bpmn:collaboration>
  <bpmn:process id={key} name={title} isExecutable="true">
    <bpmn:laneSet id="lanes_{process_key}">
      <bpmn:lane id="lane_1" name={lane_name}>
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>task_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task_1" name={task}>
      <bpmn:incoming>flow_1</bpmn:incoming><bpmn:outgoing>flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="task_1" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="task_1" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{process_key}">
    <bpmndi:BPMNPlane id="plane_{process_key}" bpmnElement="collab_{process_key}">
      <bpmndi:BPMNShape id="participant_{process_key}_di" bpmnElement="participant_{process_key}" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="600" height="180" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_1_di" bpmnElement="lane_1" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="570" height="180" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="202" y="152" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="task_1_di" bpmnElement="task_1"><dc:Bounds x="320" y="130" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="522" y="152" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_1_di" bpmnElement="flow_1"><di:waypoint x="238" y="170" /><di:waypoint x="320" y="170" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_2_di" bpmnElement="flow_2"><di:waypoint x="420" y="170" /><di:waypoint x="522" y="170" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def copied_bpmn(bpmn: str, template_key: str, process_key: str, name: str, name_en: str) -> str:
    """Return ``bpmn`` (the diagram of ``template_key``) as the new process ``process_key``.

    The process and its pool take the new id, name and English name; its embedded subprocesses
    and the messages that start it get names of its own (a message starts one process only);
    every other element, and the decision tables and forms it calls by id, stay as they are.
    """
    if not PROCESS_KEY.match(process_key):
        raise ValueError(f"{process_key!r} is not a process id (a-z, 0-9, _; 3–64 characters)")
    root = etree.fromstring(bpmn.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    processes = [p for p in root.iterfind(f"{{{_BPMN}}}process") if p.get("id") == template_key]
    if not processes:
        raise ValueError(f"the diagram holds no process {template_key!r}")
    pools = [p for p in root.iterfind(f".//{{{_BPMN}}}participant") if p.get("processRef") == template_key]
    _rename_subprocesses(root, process_key)
    _rename_start_messages(processes[0], root, process_key)
    renamed = [*processes, *pools]
    for element in renamed:
        if element.get("processRef") == template_key:
            element.set("processRef", process_key)
        else:
            element.set("id", process_key)
        element.set("name", name)
        _set_name_en(element, name_en)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return text.decode()


#: Elements whose ids the parser registers as process ids across every deployed file.
_SUBPROCESS_TAGS = {f"{{{_BPMN}}}{tag}" for tag in ("subProcess", "transaction", "adHocSubProcess")}
#: Attributes that point at an element by id.
_REFERENCES = ("id", "bpmnElement", "sourceRef", "targetRef", "attachedToRef")


def _rename_subprocesses(root: Any, process_key: str) -> None:
    """Give embedded subprocesses ids of the copy's own (the template keeps its ids), lanes included."""
    renamed = {
        element.get("id"): f"{process_key}_{element.get('id')}"
        for element in root.iter()
        if element.tag in _SUBPROCESS_TAGS and element.get("id")
    }
    if not renamed:
        return
    for element in root.iter():
        for attribute in _REFERENCES:
            value = element.get(attribute)
            if value in renamed:
                element.set(attribute, renamed[value])
        if element.tag == f"{{{_BPMN}}}flowNodeRef" and (element.text or "").strip() in renamed:
            element.text = renamed[element.text.strip()]


def _rename_start_messages(process: Any, root: Any, process_key: str) -> None:
    """Name the messages that start ``process`` after the copy (they still start the template)."""
    starting = {
        definition.get("messageRef")
        for start in process.iterfind(f"{{{_BPMN}}}startEvent")
        for definition in start.iterfind(f"{{{_BPMN}}}messageEventDefinition")
    }
    for message in root.iterfind(f"{{{_BPMN}}}message"):
        if message.get("id") in starting and message.get("name"):
            message.set("name", f"{process_key}_{message.get('name')}")


def _set_name_en(element: Any, name_en: str) -> None:
    extensions = element.find(f"{{{_BPMN}}}extensionElements")
    if extensions is None:
        extensions = etree.Element(f"{{{_BPMN}}}extensionElements")
        documented = len(element.findall(f"{{{_BPMN}}}documentation"))
        element.insert(documented, extensions)
    properties = extensions.find(f"{{{_SPIFF}}}properties")
    if properties is None:
        properties = etree.SubElement(extensions, f"{{{_SPIFF}}}properties")
    found = next(
        (p for p in properties.iterfind(f"{{{_SPIFF}}}property") if p.get("name") == "name_en"), None
    )
    if found is None:
        found = etree.SubElement(properties, f"{{{_SPIFF}}}property", name="name_en")
    found.set("value", name_en)


#: A decision table's or form's id: a letter, then letters, digits and underscores.
FILE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def starter_dmn(key: str, name: str) -> str:
    """Return a decision table ``key``: one input, one output, hit policy FIRST and one rule."""
    if not FILE_KEY.match(key):
        raise ValueError(f"{key!r} is not a decision id (letters, digits, _)")
    title = quoteattr(name)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
  xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"
  id="definitions_{key}" name={title} namespace="http://afterflow.local/dmn">
  <decision id="{key}" name={title}>
    <decisionTable id="table_{key}" hitPolicy="FIRST">
      <input id="input_{key}" label="输入">
        <inputExpression id="input_expression_{key}" typeRef="string"><text>value</text></inputExpression>
      </input>
      <output id="output_{key}" label="结果" name="result" typeRef="string" />
      <rule id="rule_{key}_any">
        <inputEntry id="rule_{key}_any_value"><text></text></inputEntry>
        <outputEntry id="rule_{key}_any_result"><text>''</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="diagram_{key}">
      <dmndi:DMNShape id="{key}_di" dmnElementRef="{key}"><dc:Bounds height="80" width="180" x="160" y="100" /></dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
"""


def starter_form(key: str, title_zh: str, title_en: str) -> str:
    """Return a form ``key`` with one text field, labelled in Chinese and English."""
    if not FILE_KEY.match(key):
        raise ValueError(f"{key!r} is not a form id (letters, digits, _)")
    schema = {
        "id": key,
        "type": "default",
        "schemaVersion": 16,
        "properties": {"title_zh": title_zh, "title_en": title_en},
        "components": [
            {
                "id": "field_note",
                "key": "note",
                "type": "textfield",
                "label": "备注",
                "validate": {"maxLength": 500},
                "properties": {"label_en": "Note"},
            }
        ],
    }
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def with_names_en(bpmn: str, names_en: dict[str, str]) -> str:
    """Return ``bpmn`` with the English name (``name_en``) of each element id in ``names_en``."""
    root = etree.fromstring(bpmn.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") in names_en:
            _set_name_en(element, names_en[element.get("id")])
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return text.decode()
