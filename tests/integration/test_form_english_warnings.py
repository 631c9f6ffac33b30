"""A deploy warns about a form label without English text, or whose English was written for an older label.

The catalogue of our own forms holds every label in both languages (tests/unit/test_repair_diagram.py);
a form from the editor may not yet: the deploy goes through and names each such field.
"""

from __future__ import annotations

from engine.definitions import validate_files
from engine.definitions.forms.languages import english_gaps
from engine.runtime import Engine
from processes.roles import role_for_lane
from tests.integration.test_deploy import changed, mini_files

FIRST = "mini_first.form.json"
AMOUNT_EN = '"properties": {"label_en": "Amount"}'


def warnings_of(files: dict[str, str]) -> list[tuple[str, str]]:
    result = validate_files(files, role_for_lane)
    assert result.ok, result.problems
    return [(w.element_id, w.message) for w in result.warnings]


def test_forms_with_every_english_text_give_no_warning() -> None:
    assert warnings_of(mini_files()) == []


def test_a_field_without_english_text_is_named() -> None:
    files = changed(mini_files(), FIRST, AMOUNT_EN, '"properties": {}')
    assert warnings_of(files) == [("c1", "the field '金额' (amount) has no English text (label_en)")]


def test_a_renamed_label_asks_for_its_english_to_be_checked_and_options_need_english_too() -> None:
    form = {
        "id": "pay",
        "properties": {"title_zh": "付款"},
        "components": [
            {
                "id": "a",
                "key": "amount",
                "label": "总金额",
                "properties": {"label_en": "Amount", "label_en_review": True},
            },
            {
                "id": "b",
                "key": "paid",
                "type": "radio",
                "label": "已付",
                "properties": {"label_en": "Paid"},
                "values": [
                    {"value": "yes", "label": "是", "label_en": "Yes"},
                    {"value": "no", "label": "否"},
                ],
            },
            {"id": "g", "type": "group", "components": [{"id": "c", "key": "note", "label": "备注"}]},
        ],
    }
    assert english_gaps(form) == [
        ("pay", "the form's title '付款' has no English text (title_en)"),
        ("a", "the field '总金额' (amount) was renamed: check its English text 'Amount' (label_en)"),
        ("b", "the option '否' of the field '已付' (paid) has no English text (label_en)"),
        ("c", "the field '备注' (note) has no English text (label_en)"),
    ]


def test_the_deploy_goes_through_with_the_warning(engine: Engine) -> None:
    files = changed(
        mini_files(), FIRST, AMOUNT_EN, '"properties": {"label_en": "Amount", "label_en_review": true}'
    )
    report = engine.deploy(files, deployed_by="owner1")
    assert report.deployed == [("mini", 1)]
    assert [(w.element_id, w.file) for w in report.warnings] == [("c1", FIRST)]
