"""Trying a decision table before deploying it: typed inputs → matched rules → outputs.

The policy table's rules overlap (FIRST): an emergency repair response matches its own rule and
the default of its stage, and the hit policy chooses the first. The table is the editor's text,
changed and not deployed; what it gives is what a business rule task of the runtime would get.
"""

from __future__ import annotations

from engine.runtime import Engine
from engine.runtime.decision_trial import try_decision
from tests.conftest import ROOT

POLICY = (ROOT / "diagrams" / "sla_policy.dmn").read_text(encoding="utf-8")
EMERGENCY = {"input_process": "repair", "input_stage": "response", "input_key": "emergency"}


def test_the_first_matching_rule_chooses_the_outputs(engine: Engine) -> None:
    trial = try_decision(engine.script_engine, "sla_policy.dmn", POLICY, EMERGENCY).as_dict()

    assert trial["ok"] and trial["hit_policy"] == "FIRST"
    assert [i["id"] for i in trial["inputs"]] == ["input_process", "input_stage", "input_key"]
    assert [r["id"] for r in trial["matched"]] == [
        "rule_repair_response_emergency",
        "rule_repair_response_default",
    ]
    assert [r["id"] for r in trial["chosen"]] == ["rule_repair_response_emergency"]
    assert trial["chosen"][0]["row"] == 1
    assert trial["outputs"] == {"sla_amount": 2, "sla_unit": "working_hours"}


def test_the_draft_text_is_evaluated_not_the_deployed_table(engine: Engine) -> None:
    cell = '<outputEntry id="rule_repair_response_emergency_amount"><text>2</text></outputEntry>'
    draft = POLICY.replace(cell, cell.replace("<text>2</text>", "<text>1.5</text>"))

    trial = try_decision(engine.script_engine, "sla_policy.dmn", draft, EMERGENCY).as_dict()

    assert trial["outputs"]["sla_amount"] == 1.5
    other = try_decision(engine.script_engine, "sla_policy.dmn", draft, {**EMERGENCY, "input_key": "x"})
    assert [r.id for r in other.chosen] == ["rule_repair_response_default"]


def test_no_match_numbers_and_a_broken_table_are_answered_plainly(engine: Engine) -> None:
    nothing = try_decision(engine.script_engine, "sla_policy.dmn", POLICY, {"input_process": "none"})
    assert nothing.matched == [] and nothing.chosen == [] and nothing.outputs == {} and not nothing.problems
    numeric = POLICY.replace(
        'id="input_expression_key" typeRef="string"', 'id="input_expression_key" typeRef="number"'
    )
    refused = try_decision(engine.script_engine, "sla_policy.dmn", numeric, {**EMERGENCY, "input_key": "abc"})
    assert [p.element_id for p in refused.problems] == ["input_key"]
    assert "takes a number" in refused.problems[0].message
    broken = try_decision(
        engine.script_engine, "sla_policy.dmn", POLICY.replace('hitPolicy="FIRST"', 'hitPolicy="ANY"'), {}
    )
    assert broken.problems and "ANY" in broken.problems[0].message and broken.matched == []
