"""The side panel's settings checked when a draft is saved: each wrong setting named, right ones pass."""

from __future__ import annotations

from pathlib import Path

from engine.definitions.draft_checks import check_draft_settings
from engine.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[2]


def lookup(serial: str, strict: bool = False) -> dict[str, str]:
    return {"serial": serial}


def notify(**anything: object) -> None:
    return None


SERVICES = {"lookup": lookup, "notify": notify}
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">'
    '<bpmn:message id="message_done" name="done" />'
    '<bpmn:process id="p" isExecutable="true">'
)
TAIL = "</bpmn:process></bpmn:definitions>"


def codes(body: str, limits: SandboxLimits | None = None) -> list[tuple[str, str, dict[str, object]]]:
    found = check_draft_settings({"p.bpmn": HEAD + body + TAIL}, limits or SandboxLimits(), SERVICES)
    return [(p.element_id, p.message.code.rsplit(".", 1)[1], dict(p.message.params)) for p in found]


def loop(inner: str, task: str = "t") -> str:
    return (
        f'<bpmn:userTask id="{task}"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        f"{inner}</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    )


def test_every_shipped_diagram_keeps_its_settings() -> None:
    from processes.services import SERVICES as shipped

    files = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "diagrams").glob("*.bpmn")}
    assert check_draft_settings(files, SandboxLimits(), shipped) == []


def test_multi_instance_settings() -> None:
    assert codes(loop("<bpmn:loopCardinality>3</bpmn:loopCardinality>")) == []
    assert (
        codes(
            loop(
                '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" name="item" />'
            )
        )
        == []
    )
    assert codes(loop("")) == [("t", "loop_none", {})]
    both = (
        "<bpmn:loopCardinality>3</bpmn:loopCardinality><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
    )
    assert codes(loop(both)) == [("t", "loop_both", {})]
    over = codes(loop("<bpmn:loopCardinality>11</bpmn:loopCardinality>"), SandboxLimits(max_cardinality=10))
    assert over == [("t", "cardinality_cap", {"value": 11, "cap": 10})]
    bad_names = codes(
        loop(
            '<bpmn:loopDataInputRef>my items</bpmn:loopDataInputRef><bpmn:inputDataItem id="1x" name="1x" />'
        )
    )
    assert [(c, p["value"]) for _, c, p in bad_names] == [
        ("not_variable", "my items"),
        ("not_variable", "1x"),
    ]
    condition = codes(
        loop(
            "<bpmn:loopCardinality>3</bpmn:loopCardinality><bpmn:completionCondition>open(</bpmn:completionCondition>"
        )
    )
    assert [c for _, c, _ in condition] == ["not_expression"]


def test_service_task_settings() -> None:
    def service(operator: str) -> str:
        return f'<bpmn:serviceTask id="s"><bpmn:extensionElements>{operator}</bpmn:extensionElements></bpmn:serviceTask>'

    good = (
        '<spiffworkflow:serviceTaskOperator id="lookup" resultVariable="found"><spiffworkflow:parameters>'
        '<spiffworkflow:parameter id="serial" type="str" value="serial or \'\'" />'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
    )
    assert codes(service(good)) == []
    assert [c for _, c, _ in codes(service(good.replace('id="lookup"', 'id=""')))] == ["service_missing"]
    unknown = codes(service(good.replace('id="lookup"', 'id="lookups"')))
    assert unknown == [("s", "service_unknown", {"name": "lookups", "known": "lookup, notify"})]
    twice = good.replace(
        "</spiffworkflow:parameters>",
        '<spiffworkflow:parameter id="serial" value="1" /></spiffworkflow:parameters>',
    )
    assert [c for _, c, _ in codes(service(twice))] == ["parameter_repeated"]
    empty = codes(service(good.replace("value=\"serial or ''\"", 'value=""')))
    assert [c for _, c, _ in empty] == ["empty"]
    assert [
        c for _, c, _ in codes(service(good.replace('resultVariable="found"', 'resultVariable="a-b"')))
    ] == ["not_variable"]
    # The handler's own parameters: one it does not take, one it requires; any for **kwargs.
    extra = good.replace(
        "</spiffworkflow:parameters>",
        '<spiffworkflow:parameter id="colour" value="1" /></spiffworkflow:parameters>',
    )
    assert codes(service(extra)) == [
        ("s", "parameter_unknown", {"name": "colour", "service": "lookup", "known": "serial, strict"})
    ]
    none = good.replace('<spiffworkflow:parameter id="serial" type="str" value="serial or \'\'" />', "")
    assert codes(service(none)) == [("s", "parameter_missing", {"name": "serial", "service": "lookup"})]
    assert codes(service(extra.replace('id="lookup"', 'id="notify"'))) == []


def test_message_settings() -> None:
    def throw(definition: str) -> str:
        return f'<bpmn:intermediateThrowEvent id="e">{definition}</bpmn:intermediateThrowEvent>'

    payload = (
        '<bpmn:messageEventDefinition id="md" messageRef="{ref}"><bpmn:extensionElements>'
        "<spiffworkflow:messagePayload>{body}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition>"
    )
    assert codes(throw(payload.format(ref="message_done", body='{"n": n}'))) == []
    assert codes(throw(payload.format(ref="message_gone", body='{"n": n}'))) == [
        ("e", "message_unknown", {"name": "message_gone"})
    ]
    assert [c for _, c, _ in codes(throw(payload.format(ref="message_done", body='{"n": }')))] == [
        "not_expression"
    ]
    receive = (
        '<bpmn:receiveTask id="r" messageRef="message_done"><bpmn:extensionElements>'
        "<spiffworkflow:messageVariable>the answer</spiffworkflow:messageVariable>"
        "</bpmn:extensionElements></bpmn:receiveTask>"
    )
    assert codes(receive) == [("r", "not_variable", codes(receive)[0][2])]
