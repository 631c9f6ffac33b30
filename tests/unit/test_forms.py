"""Tests for engine.forms: parsing form-js files and validating submissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import forms as forms_module
from engine.errors import FormInvalid
from engine.forms import (
    FormDefinition,
    FormField,
    FormProblem,
    load_forms,
    parse_form,
    validate_submission,
)

URGENCY_VALUES = [
    {"label": "紧急", "value": "emergency", "label_en": "Emergency"},
    {"label": "普通", "value": "normal", "label_en": "Normal"},
]


def form_json(*components: dict[str, Any], **extra: Any) -> str:
    """A form-js document holding ``components``."""
    return json.dumps({"id": "repair_register", "type": "default", "components": list(components), **extra})


def make_form(*components: dict[str, Any]) -> FormDefinition:
    """Parse a form holding ``components``."""
    return parse_form("repair_register", form_json(*components))


def errors_of(form: FormDefinition, data: dict[str, Any], lang: str = "zh") -> dict[str, list[str]]:
    """The ``errors`` of the FormInvalid that ``data`` must raise."""
    with pytest.raises(FormInvalid) as caught:
        validate_submission(form, data, lang)
    return caught.value.errors


FULL_FORM = form_json(
    {
        "type": "textfield",
        "key": "customer_name",
        "label": "客户名称",
        "description": "营业执照上的名称",
        "validate": {"required": True, "maxLength": 100, "minLength": 2},
        "properties": {"label_en": "Customer name", "description_en": "As on the licence"},
    },
    {"type": "textarea", "key": "fault", "label": "故障描述", "defaultValue": "无"},
    {"type": "number", "key": "quantity", "label": "数量", "validate": {"min": 1, "max": 50}},
    {
        "type": "select",
        "key": "urgency",
        "label": "紧急程度",
        "values": URGENCY_VALUES,
        "defaultValue": "normal",
    },
    {
        "type": "radio",
        "key": "channel",
        "label": "渠道",
        "values": [{"label": "电话", "value": "phone"}, {"label": "门店", "value": "store"}],
    },
    {"type": "checkbox", "key": "under_warranty", "label": "在保", "defaultValue": True},
    {
        "type": "checklist",
        "key": "accessories",
        "label": "附件",
        "values": [{"label": "电源", "value": "power"}, {"label": "电池", "value": "battery"}],
        "defaultValue": ["power"],
    },
    {"type": "datetime", "key": "visit_date", "subtype": "date", "dateLabel": "上门日期"},
    {"type": "datetime", "key": "visit_time", "subtype": "time", "timeLabel": "上门时间"},
    {"type": "datetime", "key": "reported_at", "subtype": "datetime", "dateLabel": "报修时间"},
    {"type": "text", "text": "# 请如实填写", "properties": {"text_en": "# Please be accurate"}},
    {"type": "textfield", "key": "ticket_no", "label": "工单号", "readonly": True},
    properties={"title_zh": "维修登记", "title_en": "Repair registration"},
)


# --------------------------------------------------------------------------- parsing


def test_parse_reads_title_and_every_component_in_order() -> None:
    form = parse_form("repair_register", FULL_FORM)
    assert form.key == "repair_register"
    assert (form.title_zh, form.title_en) == ("维修登记", "Repair registration")
    assert form.title("en") == "Repair registration"
    assert [f.type for f in form.fields] == [
        "textfield",
        "textarea",
        "number",
        "select",
        "radio",
        "checkbox",
        "checklist",
        "datetime",
        "datetime",
        "datetime",
        "text",
        "textfield",
    ]
    assert form.raw == json.loads(FULL_FORM)


def test_parse_textfield_labels_and_length_rules() -> None:
    field = parse_form("f", FULL_FORM).get_field("customer_name")
    assert field == FormField(
        key="customer_name",
        type="textfield",
        label_zh="客户名称",
        label_en="Customer name",
        required=True,
        min_length=2,
        max_length=100,
        description="营业执照上的名称",
        description_en="As on the licence",
    )
    assert field.label("en") == "Customer name"
    assert field.label("fr") == "客户名称"


def test_parse_textarea_default_and_english_label_fallback() -> None:
    field = parse_form("f", FULL_FORM).get_field("fault")
    assert field is not None
    assert field.type == "textarea"
    assert field.default == "无"
    assert field.label_en == "故障描述"
    assert field.required is False


def test_parse_number_range() -> None:
    field = parse_form("f", FULL_FORM).get_field("quantity")
    assert field is not None
    assert (field.min, field.max) == (1, 50)
    assert (field.min_length, field.max_length) == (None, None)


def test_parse_select_options_with_english_labels() -> None:
    field = parse_form("f", FULL_FORM).get_field("urgency")
    assert field is not None
    assert field.options == (("emergency", "紧急", "Emergency"), ("normal", "普通", "Normal"))
    assert field.default == "normal"


def test_parse_radio_options_fall_back_to_chinese_label() -> None:
    field = parse_form("f", FULL_FORM).get_field("channel")
    assert field is not None
    assert field.options == (("phone", "电话", "电话"), ("store", "门店", "门店"))


def test_parse_checkbox_and_checklist_defaults() -> None:
    form = parse_form("f", FULL_FORM)
    checkbox = form.get_field("under_warranty")
    checklist = form.get_field("accessories")
    assert checkbox is not None and checkbox.default is True
    assert checklist is not None
    assert checklist.option_values == ("power", "battery")
    assert checklist.default == ("power",)


def test_parse_datetime_subtypes_and_labels() -> None:
    form = parse_form("f", FULL_FORM)
    got = {key: form.get_field(key) for key in ("visit_date", "visit_time", "reported_at")}
    assert {key: (f.subtype, f.label_zh) for key, f in got.items() if f is not None} == {
        "visit_date": ("date", "上门日期"),
        "visit_time": ("time", "上门时间"),
        "reported_at": ("datetime", "报修时间"),
    }


def test_parse_datetime_subtype_defaults_to_date() -> None:
    form = make_form({"type": "datetime", "key": "due", "dateLabel": "日期"})
    assert form.fields[0].subtype == "date"


def test_parse_text_is_display_only_without_key() -> None:
    form = parse_form("f", FULL_FORM)
    text = form.fields[10]
    assert text.is_display and not text.accepts_input
    assert text.key == ""
    assert (text.description, text.description_en) == ("# 请如实填写", "# Please be accurate")
    assert text not in form.data_fields
    assert len(form.data_fields) == len(form.fields) - 1


def test_parse_readonly_and_disabled() -> None:
    form = make_form(
        {"type": "textfield", "key": "a", "readonly": True},
        {"type": "textfield", "key": "b", "disabled": True},
        {"type": "textfield", "key": "c"},
    )
    assert [f.readonly for f in form.fields] == [True, True, False]
    assert [f.accepts_input for f in form.fields] == [False, False, True]


def test_title_falls_back_to_id_then_key() -> None:
    assert parse_form("k", form_json()).title_zh == "repair_register"
    assert parse_form("k", form_json()).title_en == "repair_register"
    no_id = json.dumps({"type": "default", "components": []})
    assert parse_form("k", no_id).title_zh == "k"


def test_groups_are_flattened_recursively() -> None:
    form = make_form(
        {"type": "textfield", "key": "first"},
        {
            "type": "group",
            "label": "地址",
            "components": [
                {"type": "textfield", "key": "city"},
                {"type": "group", "components": [{"type": "number", "key": "floor"}]},
            ],
        },
        {"type": "checkbox", "key": "last"},
    )
    assert [f.key for f in form.fields] == ["first", "city", "floor", "last"]


def test_problems_in_groups_name_the_nested_position() -> None:
    with pytest.raises(FormProblem) as caught:
        make_form({"type": "group", "components": [{"type": "textfield"}, {"type": "spacer"}]})
    assert caught.value.problems == [
        "component 1.1 (type 'textfield') has no key",
        "component 1.2 (type 'spacer') is not a supported field type",
    ]


def test_group_with_data_path_is_a_problem() -> None:
    with pytest.raises(FormProblem) as caught:
        make_form({"type": "group", "path": "address", "components": [{"type": "textfield", "key": "city"}]})
    assert "data path 'address'" in str(caught.value)


def test_invalid_json_is_a_problem() -> None:
    with pytest.raises(FormProblem) as caught:
        parse_form("f", '{"components": [')
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("the form file is not valid JSON: ")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "the form file must hold a JSON object with a 'components' list"),
        ('{"type": "default"}', "the form has no 'components' list"),
        ('{"type": "wizard", "components": []}', "the form has type 'wizard'"),
    ],
)
def test_structural_problems_of_the_document(text: str, expected: str) -> None:
    with pytest.raises(FormProblem) as caught:
        parse_form("f", text)
    assert caught.value.problems[0].startswith(expected)


def test_all_component_problems_are_reported_together() -> None:
    with pytest.raises(FormProblem) as caught:
        make_form(
            {"type": "textfield", "key": "name"},
            {"type": "number", "label": "数量"},
            {"type": "foo", "label": "?"},
            {"type": "select", "key": "name", "values": URGENCY_VALUES},
            {"type": "map", "key": "location"},
        )
    assert caught.value.problems == [
        "component 2 (type 'number') has no key",
        "component 3 (type 'foo') is not a supported field type",
        "component 'location' (type 'map') is not a supported field type",
        "the key 'name' is used by more than one component (components 1, 4)",
    ]
    assert str(caught.value) == "; ".join(caught.value.problems)


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ("not a component", "component 1 is not a JSON object"),
        ({"key": "x"}, "component 'x' has no type"),
        ({"type": "textfield", "key": "order.id"}, "component 'order.id' has a key that cannot be used"),
        ({"type": "textfield", "key": "_secret"}, "component '_secret' has a key that cannot be used"),
        ({"type": "textfield", "key": "class"}, "component 'class' has a key that cannot be used"),
        ({"type": "select", "key": "s"}, "component 's' has no options"),
        ({"type": "select", "key": "s", "values": []}, "component 's' has no options"),
        ({"type": "radio", "key": "s", "valuesKey": "choices"}, "component 's' takes its options from"),
        (
            {"type": "select", "key": "s", "values": [{"value": "a"}, {"value": "a"}]},
            "component 's' lists the option value 'a' more than once",
        ),
        ({"type": "select", "key": "s", "values": [{"label": "A"}]}, "option 1 of component 's' has no"),
        ({"type": "datetime", "key": "d", "subtype": "week"}, "component 'd' has the datetime subtype"),
        ({"type": "textfield", "key": "t", "validate": "yes"}, "component 't' has a 'validate' entry"),
        (
            {"type": "textfield", "key": "t", "validate": {"required": "yes"}},
            "component 't' has a 'required' setting",
        ),
        (
            {"type": "textfield", "key": "t", "validate": {"maxLength": -1}},
            "component 't' has a maxLength that is not",
        ),
        (
            {"type": "textfield", "key": "t", "validate": {"minLength": 5, "maxLength": 2}},
            "component 't' has a minimum length greater",
        ),
        ({"type": "number", "key": "n", "validate": {"min": "1"}}, "component 'n' has a min that is not"),
        (
            {"type": "number", "key": "n", "validate": {"min": 5, "max": 1}},
            "component 'n' has a minimum greater than its maximum",
        ),
        (
            {"type": "textfield", "key": "t", "validate": {"pattern": "[a-"}},
            "component 't' has a validation pattern that is not a valid",
        ),
        ({"type": "textfield", "key": "t", "readonly": "=x"}, "component 't' has a 'readonly' condition"),
        (
            {"type": "textfield", "key": "t", "validate": {"required": True}, "conditional": {"hide": "=x"}},
            "component 't' is required but can be hidden",
        ),
        (
            {"type": "select", "key": "s", "values": URGENCY_VALUES, "defaultValue": "later"},
            "component 's' has the default value 'later'",
        ),
        ({"type": "number", "key": "n", "defaultValue": "many"}, "component 'n' has the default value"),
        (
            {"type": "number", "key": "n", "decimalDigits": 1.5},
            "component 'n' has a decimalDigits that is not",
        ),
        (
            {"type": "select", "key": "s", "values": URGENCY_VALUES, "properties": {"optionsFromRole": "x"}},
            "component 's' has both listed options and optionsFromRole",
        ),
        (
            {"type": "select", "key": "s", "properties": {"optionsFromRole": ["x"]}},
            "component 's' has an optionsFromRole that is not a role key",
        ),
        (
            {"type": "datetime", "key": "d", "subtype": "date", "defaultValue": "2024-02-30"},
            "component 'd' has the default value",
        ),
    ],
)
def test_component_problems(component: Any, expected: str) -> None:
    with pytest.raises(FormProblem) as caught:
        make_form(component)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(expected)


def test_required_field_in_conditional_group_is_a_problem() -> None:
    with pytest.raises(FormProblem, match="'t' is required but can be hidden"):
        make_form(
            {
                "type": "group",
                "conditional": {"hide": "=urgent"},
                "components": [{"type": "textfield", "key": "t", "validate": {"required": True}}],
            }
        )


def test_optional_conditional_field_is_accepted() -> None:
    form = make_form({"type": "textfield", "key": "t", "conditional": {"hide": "=urgent"}})
    assert form.fields[0].key == "t"


def test_numeric_option_values_become_text() -> None:
    form = make_form({"type": "radio", "key": "stars", "values": [{"label": "一星", "value": 1}]})
    assert form.fields[0].options == (("1", "一星", "一星"),)
    assert validate_submission(form, {"stars": 1}) == {"stars": "1"}


def test_options_from_role() -> None:
    form = make_form({"type": "select", "key": "technician", "properties": {"optionsFromRole": "technician"}})
    field = form.fields[0]
    assert field.options_from_role == "technician"
    assert field.options == ()


def test_number_decimal_digits() -> None:
    form = make_form({"type": "number", "key": "fee", "decimalDigits": 2})
    assert form.fields[0].decimal_digits == 2
    assert validate_submission(form, {"fee": "12.50"}) == {"fee": 12.5}
    assert validate_submission(form, {"fee": "120"}) == {"fee": 120}
    assert errors_of(form, {"fee": "12.345"}) == {"fee": ["最多 2 位小数。"]}
    assert errors_of(form, {"fee": 0.125}, "en") == {"fee": ["At most 2 decimal places."]}


def test_project_form_files_all_load() -> None:
    folder = Path(__file__).resolve().parents[2] / "diagrams" / "forms"
    if not folder.is_dir():
        pytest.skip("no diagrams/forms folder in this checkout")
    forms = load_forms(folder)
    assert len(forms) == len(list(folder.glob("*.form.json")))
    assert all(form.title_zh and form.data_fields for form in forms.values())


# --------------------------------------------------------------------------- load_forms


def test_load_forms_reads_every_form_file(tmp_path: Path) -> None:
    (tmp_path / "repair_register.form.json").write_text(FULL_FORM, encoding="utf-8")
    (tmp_path / "repair_close.form.json").write_text(
        "\ufeff" + form_json({"type": "checkbox", "key": "done"}), encoding="utf-8"
    )
    (tmp_path / "notes.json").write_text("not a form", encoding="utf-8")
    forms = load_forms(tmp_path)
    assert sorted(forms) == ["repair_close", "repair_register"]
    assert forms["repair_close"].key == "repair_close"
    assert forms["repair_register"].title_zh == "维修登记"


def test_load_forms_collects_problems_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "good.form.json").write_text(form_json({"type": "textfield", "key": "a"}), encoding="utf-8")
    (tmp_path / "broken.form.json").write_text("{", encoding="utf-8")
    (tmp_path / "odd.form.json").write_text(
        form_json({"type": "foo"}, {"type": "textfield"}), encoding="utf-8"
    )
    with pytest.raises(FormProblem) as caught:
        load_forms(tmp_path)
    problem = caught.value
    assert sorted(problem.files) == ["broken.form.json", "odd.form.json"]
    assert problem.files["odd.form.json"] == [
        "component 1 (type 'foo') is not a supported field type",
        "component 2 (type 'textfield') has no key",
    ]
    assert problem.files["broken.form.json"][0].startswith("the form file is not valid JSON")
    assert len(problem.problems) == 3
    assert "odd.form.json: component 1 (type 'foo') is not a supported field type" in problem.problems


def test_load_forms_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert load_forms(tmp_path / "nowhere") == {}


# --------------------------------------------------------------------------- validation: success


def test_valid_html_submission_is_converted_to_typed_json_values() -> None:
    form = parse_form("repair_register", FULL_FORM)
    data = {
        "customer_name": "华东电器",
        "fault": "不开机",
        "quantity": "3",
        "urgency": "emergency",
        "channel": "phone",
        "under_warranty": "on",
        "accessories": ["battery", "power", "battery"],
        "visit_date": "2026-11-22",
        "visit_time": "09:30",
        "reported_at": "2026-11-21T18:05:00+08:00",
    }
    result = validate_submission(form, data)
    assert result == {
        "customer_name": "华东电器",
        "fault": "不开机",
        "quantity": 3,
        "urgency": "emergency",
        "channel": "phone",
        "under_warranty": True,
        "accessories": ["battery", "power"],
        "visit_date": "2026-11-22",
        "visit_time": "09:30",
        "reported_at": "2026-11-21T18:05+08:00",
    }
    assert type(result["quantity"]) is int
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(("raw", "expected"), [("2.5", 2.5), (" 7 ", 7), (4, 4), (1.25, 1.25), ("1e1", 10.0)])
def test_numbers_keep_int_or_float(raw: Any, expected: float) -> None:
    form = make_form({"type": "number", "key": "n"})
    value = validate_submission(form, {"n": raw})["n"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("on", True),
        ("true", True),
        ("1", True),
        (True, True),
        ("false", False),
        ("0", False),
        (False, False),
        ("", False),
        (None, False),
    ],
)
def test_checkbox_strings(raw: Any, expected: bool) -> None:
    form = make_form({"type": "checkbox", "key": "ok"})
    assert validate_submission(form, {"ok": raw}) == {"ok": expected}


def test_missing_optional_values_get_empty_values() -> None:
    form = parse_form("f", FULL_FORM)
    result = validate_submission(form, {"customer_name": "华东电器"})
    assert result == {
        "customer_name": "华东电器",
        "fault": None,
        "quantity": None,
        "urgency": None,
        "channel": None,
        "under_warranty": False,
        "accessories": [],
        "visit_date": None,
        "visit_time": None,
        "reported_at": None,
    }


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_empty_optional_fields_become_none(blank: Any) -> None:
    form = make_form(
        {"type": "textfield", "key": "t", "validate": {"minLength": 3}},
        {"type": "number", "key": "n", "validate": {"min": 1}},
        {"type": "select", "key": "s", "values": URGENCY_VALUES},
        {"type": "datetime", "key": "d", "subtype": "date"},
        {"type": "checklist", "key": "c", "values": URGENCY_VALUES},
    )
    result = validate_submission(form, {"t": blank, "n": blank, "s": blank, "d": blank, "c": blank})
    assert result == {"t": None, "n": None, "s": None, "d": None, "c": []}


def test_unknown_keys_are_dropped() -> None:
    form = make_form({"type": "textfield", "key": "t"})
    assert validate_submission(form, {"t": "x", "csrf_token": "abc", "is_admin": True}) == {"t": "x"}


def test_readonly_and_display_fields_are_ignored() -> None:
    form = parse_form("f", FULL_FORM)
    result = validate_submission(form, {"customer_name": "华东电器", "ticket_no": "HACK-1", "": "x"})
    assert "ticket_no" not in result
    assert "" not in result


def test_multidict_gives_every_checklist_value() -> None:
    class MultiDict(dict[str, Any]):
        """The part of werkzeug's MultiDict the form code relies on."""

        def __init__(self, pairs: list[tuple[str, str]]) -> None:
            super().__init__()
            self.pairs = pairs
            for key, value in pairs:
                self.setdefault(key, value)

        def getlist(self, key: str) -> list[str]:
            return [value for k, value in self.pairs if k == key]

    form = make_form(
        {"type": "checklist", "key": "c", "values": URGENCY_VALUES},
        {"type": "textfield", "key": "t"},
    )
    data = MultiDict([("c", "normal"), ("t", "x"), ("c", "emergency")])
    assert validate_submission(form, data) == {"c": ["normal", "emergency"], "t": "x"}


def test_single_checklist_value_becomes_a_list() -> None:
    form = make_form({"type": "checklist", "key": "c", "values": URGENCY_VALUES})
    assert validate_submission(form, {"c": "normal"}) == {"c": ["normal"]}


def test_same_key_different_fields_do_not_share_a_schema() -> None:
    loose = make_form({"type": "textfield", "key": "t"})
    strict = make_form({"type": "textfield", "key": "t", "validate": {"maxLength": 2}})
    assert validate_submission(loose, {"t": "abcdef"}) == {"t": "abcdef"}
    assert errors_of(strict, {"t": "abcdef"}, "en") == {"t": ["At most 2 characters."]}
    assert validate_submission(loose, {"t": "abcdef"}) == {"t": "abcdef"}


def test_parsed_forms_are_hashable_by_content_and_share_a_cached_schema() -> None:
    first = parse_form("repair_register", FULL_FORM)
    second = parse_form("repair_register", FULL_FORM)
    assert first is not second
    assert hash(first) == hash(second)
    assert first == second
    validate_submission(first, {"customer_name": "华东电器"})
    hits = forms_module._schema_class.cache_info().hits
    validate_submission(second, {"customer_name": "华东电器"})
    assert forms_module._schema_class.cache_info().hits == hits + 1


def test_hand_made_form_with_unhashable_default_still_validates() -> None:
    field = FormField(key="c", type="checklist", label_zh="c", label_en="c", options=(("a", "A", "A"),))
    form = FormDefinition("k", "k", "k", (FormField(**{**field.__dict__, "default": ["a"]}),))
    assert validate_submission(form, {"c": ["a"]}) == {"c": ["a"]}


ROLE_FORM = make_form(
    {"type": "select", "key": "technician", "properties": {"optionsFromRole": "technician"}},
    {"type": "checklist", "key": "helpers", "properties": {"optionsFromRole": "technician"}},
    {"type": "radio", "key": "urgency", "values": URGENCY_VALUES},
)


def test_role_options_accept_any_user_without_dynamic_options() -> None:
    data = {"technician": "wang", "helpers": ["li", "zhao"]}
    assert validate_submission(ROLE_FORM, data) == {**data, "urgency": None}


def test_dynamic_options_restrict_the_choices() -> None:
    users = {"technician": ["wang", "li"], "helpers": ("wang", "li"), "urgency": ["normal"]}
    good = {"technician": "wang", "helpers": ["li"], "urgency": "normal"}
    assert validate_submission(ROLE_FORM, good, dynamic_options=users) == good
    bad = {"technician": "zhao", "helpers": ["li", "zhao"], "urgency": "emergency"}
    assert errors_of_dynamic(bad, users) == {
        "technician": ["Choose one of the listed options."],
        "helpers": ["Choose one of the listed options."],
        "urgency": ["Choose one of the listed options."],
    }


def test_dynamic_options_combine_with_other_errors() -> None:
    errors = errors_of_dynamic({"technician": "zhao", "urgency": "later"}, {"technician": ["wang"]})
    assert errors == {
        "technician": ["Choose one of the listed options."],
        "urgency": ["Choose one of the listed options."],
    }


def errors_of_dynamic(data: dict[str, Any], options: dict[str, Any]) -> dict[str, list[str]]:
    """The English errors for ``data`` on ROLE_FORM with ``options``."""
    with pytest.raises(FormInvalid) as caught:
        validate_submission(ROLE_FORM, data, "en", dynamic_options=options)
    return caught.value.errors


def test_data_must_be_a_mapping() -> None:
    form = make_form({"type": "textfield", "key": "t"})
    with pytest.raises(TypeError):
        validate_submission(form, ["t"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validation: errors

ERROR_FORM = make_form(
    {"type": "textfield", "key": "name", "validate": {"required": True, "minLength": 2, "maxLength": 5}},
    {"type": "textfield", "key": "code", "validate": {"pattern": "^RO-[0-9]+$"}},
    {"type": "number", "key": "between", "validate": {"min": 1, "max": 10}},
    {"type": "number", "key": "at_least", "validate": {"min": 0.5}},
    {"type": "number", "key": "at_most", "validate": {"max": 100.0}},
    {"type": "select", "key": "urgency", "values": URGENCY_VALUES},
    {"type": "checkbox", "key": "flag"},
    {"type": "checklist", "key": "tags", "values": URGENCY_VALUES},
    {"type": "datetime", "key": "day", "subtype": "date"},
    {"type": "datetime", "key": "clock", "subtype": "time"},
    {"type": "datetime", "key": "moment", "subtype": "datetime"},
)

ERROR_CASES = [
    ("name", "", "此项为必填项。", "This field is required."),
    ("name", "a", "至少 2 个字符。", "At least 2 characters."),
    ("name", "abcdef", "最多 5 个字符。", "At most 5 characters."),
    ("name", 12, "请输入文字。", "Enter text."),
    ("code", "XX-1", "格式不正确。", "The value does not have the expected format."),
    ("between", "11", "应在 1 到 10 之间。", "Must be between 1 and 10."),
    ("between", "abc", "请输入数字。", "Enter a number."),
    ("between", "nan", "请输入数字。", "Enter a number."),
    ("between", True, "请输入数字。", "Enter a number."),
    ("between", "1_0", "请输入数字。", "Enter a number."),
    ("at_least", "0.4", "不能小于 0.5。", "Must be at least 0.5."),
    ("at_most", "101", "不能大于 100。", "Must be at most 100."),
    ("urgency", "later", "请选择列表中的选项。", "Choose one of the listed options."),
    ("flag", "maybe", "请勾选或取消勾选此项。", "Tick or untick this box."),
    ("tags", ["normal", "later"], "请选择列表中的选项。", "Choose one of the listed options."),
    ("tags", {"a": 1}, "请选择列表中的选项。", "Choose one of the listed options."),
    ("day", "2026-02-30", "请输入有效日期。", "Enter a valid date."),
    ("clock", "25:00", "请输入有效时间。", "Enter a valid time."),
    ("moment", "2026-11-22", "请输入有效的日期和时间。", "Enter a valid date and time."),
]


@pytest.mark.parametrize(("key", "value", "zh", "en"), ERROR_CASES)
def test_each_error_kind_in_chinese_and_english(key: str, value: Any, zh: str, en: str) -> None:
    data = {"name": "张三", key: value}
    assert errors_of(ERROR_FORM, data, "zh") == {key: [zh]}
    assert errors_of(ERROR_FORM, data, "en") == {key: [en]}


def test_form_invalid_message_and_language_fallback() -> None:
    for lang, message in [
        ("zh", "表单有错误，请检查标出的字段。"),
        ("en", "The form has errors; check the marked fields."),
        ("en-US", "The form has errors; check the marked fields."),
        ("de", "表单有错误，请检查标出的字段。"),
    ]:
        with pytest.raises(FormInvalid) as caught:
            validate_submission(ERROR_FORM, {}, lang)
        assert caught.value.message == message
        assert caught.value.code == "form_invalid"
        assert caught.value.details == {"errors": caught.value.errors}


def test_all_field_errors_are_reported_together() -> None:
    errors = errors_of(ERROR_FORM, {"between": "0", "urgency": "later", "day": "soon"}, "en")
    assert errors == {
        "name": ["This field is required."],
        "between": ["Must be between 1 and 10."],
        "urgency": ["Choose one of the listed options."],
        "day": ["Enter a valid date."],
    }


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_empty_required_field_is_required_error(blank: Any) -> None:
    assert errors_of(ERROR_FORM, {"name": blank}, "en") == {"name": ["This field is required."]}


def test_required_fields_of_every_type() -> None:
    form = make_form(
        {"type": "number", "key": "n", "validate": {"required": True}},
        {"type": "select", "key": "s", "values": URGENCY_VALUES, "validate": {"required": True}},
        {"type": "checklist", "key": "c", "values": URGENCY_VALUES, "validate": {"required": True}},
        {"type": "datetime", "key": "d", "subtype": "date", "validate": {"required": True}},
    )
    required = ["This field is required."]
    assert errors_of(form, {}, "en") == {"n": required, "s": required, "c": required, "d": required}
    assert errors_of(form, {"n": "", "s": "", "c": [], "d": ""}, "en") == {
        "n": required,
        "s": required,
        "c": required,
        "d": required,
    }


@pytest.mark.parametrize("unticked", [{}, {"agree": ""}, {"agree": "false"}, {"agree": False}])
def test_required_checkbox_must_be_ticked(unticked: dict[str, Any]) -> None:
    form = make_form({"type": "checkbox", "key": "agree", "validate": {"required": True}})
    assert errors_of(form, unticked) == {"agree": ["此项为必填项。"]}
    assert validate_submission(form, {"agree": "on"}) == {"agree": True}


def test_select_value_outside_options_is_rejected() -> None:
    form = make_form({"type": "select", "key": "urgency", "values": URGENCY_VALUES})
    assert validate_submission(form, {"urgency": "normal"}) == {"urgency": "normal"}
    assert errors_of(form, {"urgency": "Normal"}, "en") == {"urgency": ["Choose one of the listed options."]}
    assert errors_of(form, {"urgency": ["normal"]}, "en") == {
        "urgency": ["Choose one of the listed options."]
    }


def test_checklist_with_one_bad_value_is_rejected() -> None:
    form = make_form({"type": "checklist", "key": "tags", "values": URGENCY_VALUES})
    assert errors_of(form, {"tags": ["normal", "emergency", "other"]}) == {"tags": ["请选择列表中的选项。"]}
    assert errors_of(form, {"tags": ["normal", 3.5]}) == {"tags": ["请选择列表中的选项。"]}


def test_several_messages_for_one_field_are_all_given() -> None:
    form = make_form(
        {"type": "textfield", "key": "code", "validate": {"maxLength": 3, "pattern": "^[0-9]+$"}}
    )
    assert errors_of(form, {"code": "abcdef"}, "en") == {
        "code": ["At most 3 characters.", "The value does not have the expected format."]
    }


# --- requiredWhen and optionsFromProcess --------------------------------------------------------------

PROVIDED = {
    "key": "provided",
    "type": "radio",
    "label": "已提供",
    "values": [{"label": "是", "value": "yes"}, {"label": "否", "value": "no"}],
    "validate": {"required": True},
}
WHY = {"key": "why_not", "type": "textarea", "label": "原因", "properties": {"requiredWhen": "provided=no"}}


def test_a_field_required_when_another_has_a_value_is_required_only_then() -> None:
    form = make_form(PROVIDED, WHY)
    assert form.get_field("why_not").required_when == ("provided", "no")  # type: ignore[union-attr]
    assert errors_of(form, {"provided": "no"}) == {"why_not": ["此项为必填项。"]}
    assert errors_of(form, {"provided": "no", "why_not": "  "}) == {"why_not": ["此项为必填项。"]}
    assert validate_submission(form, {"provided": "yes"})["why_not"] is None
    assert validate_submission(form, {"provided": "no", "why_not": "客户不需要"})["why_not"] == "客户不需要"


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("provided", "requiredWhen that is not written as other_field=value"),
        ("provided=", "requiredWhen that is not written as other_field=value"),
        ("missing=no", "required when 'missing' has a value, but the form has no such field"),
    ],
)
def test_a_bad_required_when_is_a_problem(when: str, problem: str) -> None:
    with pytest.raises(FormProblem) as raised:
        make_form(PROVIDED, {**WHY, "properties": {"requiredWhen": when}})
    assert any(problem in text for text in raised.value.problems)


def test_options_from_a_process_accept_only_the_numbers_given_as_dynamic_options() -> None:
    order = {
        "key": "order",
        "type": "select",
        "label": "维修单",
        "properties": {"optionsFromProcess": "repair_service"},
    }
    form = make_form(order)
    field = form.get_field("order")
    assert field is not None and field.options_from_process == "repair_service" and field.has_dynamic_options
    assert (
        validate_submission(form, {"order": "RO-1"}, dynamic_options={"order": ["RO-1"]})["order"] == "RO-1"
    )
    assert errors_of_order(form, {"order": "RO-9"}) == {"order": ["请选择列表中的选项。"]}
    assert validate_submission(form, {}, dynamic_options={"order": []})["order"] is None
    with pytest.raises(FormProblem):
        make_form({**order, "values": [{"label": "a", "value": "a"}]})


def errors_of_order(form: FormDefinition, data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as raised:
        validate_submission(form, data, dynamic_options={"order": []})
    return raised.value.errors
