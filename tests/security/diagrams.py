"""Diagrams that carry one piece of attacker's code, in each place a diagram can hold code.

Each diagram has one element with the id ``attack`` holding the code; a case reaching it
either runs it or the deploy refuses it. After the element the case waits at a user task.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

PLACES = (
    "script",
    "condition",
    "timer",
    "due",
    "prescript",
    "postscript",
    "cardinality",
    "collection",
    "burst",
)

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_attack"
  targetNamespace="http://afterflow.test">
  <bpmn:process id="attack_process" name="attack" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="businessNumberPrefix" value="AT" />
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="service_supervisor">{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
"""
_TAIL = """    <bpmn:userTask id="wait" name="wait"><bpmn:incoming>f2</bpmn:incoming>{more_in}<bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="attack" />
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end" />
{flows}  </bpmn:process>
</bpmn:definitions>
"""


def _script_task(body: str, extension: str = "") -> str:
    return (
        f'    <bpmn:scriptTask id="attack" name="attack">{extension}<bpmn:incoming>f1</bpmn:incoming>'
        f"<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(body)}</bpmn:script></bpmn:scriptTask>\n"
    )


def attack_diagram(place: str, code: str) -> str:
    """Return a BPMN file whose element ``attack`` holds ``code`` in ``place``."""
    flows = '    <bpmn:sequenceFlow id="f2" sourceRef="attack" targetRef="wait" />\n'
    more_in = ""
    if place == "script":
        element = _script_task(code)
    elif place in ("prescript", "postscript"):
        tag = "preScript" if place == "prescript" else "postScript"
        extension = (
            f"<bpmn:extensionElements><spiffworkflow:{tag}>{escape(code)}</spiffworkflow:{tag}>"
            "</bpmn:extensionElements>"
        )
        element = (
            f'    <bpmn:task id="attack" name="attack">{extension}<bpmn:incoming>f1</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>\n"
        )
    elif place == "condition":
        element = (
            '    <bpmn:exclusiveGateway id="attack" default="f2"><bpmn:incoming>f1</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f2b</bpmn:outgoing></bpmn:exclusiveGateway>\n"
        )
        flows += (
            '    <bpmn:sequenceFlow id="f2b" sourceRef="attack" targetRef="wait">'
            f"<bpmn:conditionExpression>{escape(code)}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
        )
        more_in = "<bpmn:incoming>f2b</bpmn:incoming>"
    elif place == "timer":
        element = (
            '    <bpmn:intermediateCatchEvent id="attack"><bpmn:incoming>f1</bpmn:incoming>'
            '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition id="attack_timer">'
            f"<bpmn:timeDuration>{escape(code)}</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>\n"
        )
    elif place == "due":
        element = (
            '    <bpmn:userTask id="attack" name="attack"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="dueTime" value={quoteattr(code)} />'
            "</spiffworkflow:properties></bpmn:extensionElements>"
            "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n"
        )
    elif place == "cardinality":
        element = (
            '    <bpmn:scriptTask id="attack" name="attack"><bpmn:incoming>f1</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing>"
            '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
            f"<bpmn:loopCardinality>{escape(code)}</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>\n"
        )
    elif place == "burst":
        # Ten instances of one script: each within its own limit, too long together.
        element = (
            '    <bpmn:scriptTask id="attack" name="attack"><bpmn:incoming>f1</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing>"
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
            "<bpmn:loopCardinality>10</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
            f"<bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>\n"
        )
    elif place == "collection":
        # A script builds the collection, the multi-instance activity after it reads it.
        element = (
            '    <bpmn:scriptTask id="make_items" name="make"><bpmn:incoming>f1</bpmn:incoming>'
            f"<bpmn:outgoing>f1b</bpmn:outgoing><bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>\n"
            '    <bpmn:scriptTask id="attack" name="attack"><bpmn:incoming>f1b</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing>"
            '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
            "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
            '<bpmn:inputDataItem id="item" name="item" />'
            "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>\n"
        )
        flows = flows.replace('sourceRef="start" targetRef="attack"', "")
        flows += '    <bpmn:sequenceFlow id="f1b" sourceRef="make_items" targetRef="attack" />\n'
    else:
        raise ValueError(place)
    ids = ["start", "attack", "wait", "end"] + (["make_items"] if place == "collection" else [])
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    text = _HEAD.format(refs=refs) + element + _TAIL.format(flows=flows, more_in=more_in)
    if place == "collection":
        text = text.replace(
            'sourceRef="start" targetRef="attack"', 'sourceRef="start" targetRef="make_items"'
        )
    return text
