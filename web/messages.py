"""Word the message codes of the engine and the domain in the user's language.

The engine and ``processes`` say what happened as a code with parameters (``engine.user_messages``);
the wording of each code lives here, in English, and the Babel catalogue in ``web/translations``
gives every other language — the same catalogue the pages and flashes use. Nothing here needs a
request: the CLI words messages with the same function.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from engine.user_messages import Message

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
#: The interface's default language, used for every language the catalogue does not have.
DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue without translating it yet (Babel extracts ``N_``)."""
    return text


#: The English wording of every code; ``%(name)s`` places the message's parameters.
WORDING: dict[str, str] = {
    "form.invalid_form": N_("The form has errors; check the marked fields."),
    "form.required": N_("This field is required."),
    "form.not_option": N_("Choose one of the listed options."),
    "form.not_number": N_("Enter a number."),
    "form.not_text": N_("Enter text."),
    "form.not_boolean": N_("Tick or untick this box."),
    "form.too_short": N_("At least %(min)s characters."),
    "form.too_long": N_("At most %(max)s characters."),
    "form.range": N_("Must be between %(min)s and %(max)s."),
    "form.too_small": N_("Must be at least %(min)s."),
    "form.too_large": N_("Must be at most %(max)s."),
    "form.invalid_date": N_("Enter a valid date."),
    "form.invalid_time": N_("Enter a valid time."),
    "form.invalid_datetime": N_("Enter a valid date and time."),
    "form.pattern": N_("The value does not have the expected format."),
    "form.too_precise": N_("At most %(digits)s decimal places."),
    "form.invalid": N_("This value is not valid."),
    "form.not_before": N_("“%(field)s” cannot be before %(what)s (%(bound)s)."),
    "form.not_after": N_("“%(field)s” cannot be after %(what)s (%(bound)s)."),
    "form.above": N_("“%(field)s” cannot be more than %(what)s (%(bound)s)."),
    "complaint.written_reply_required": N_(
        "A major complaint must be answered in writing: choose “letter” and send the letter."
    ),
    "form.below": N_("“%(field)s” cannot be less than %(what)s (%(bound)s)."),
    "form.signature_missing": N_("The customer has not signed: have them sign, or record that they refused."),
    "form.signature_name": N_("Type the signer's name (at most 64 characters)."),
    "form.signature_reason": N_("Give the reason the customer refused to sign (at most 500 characters)."),
    "form.signature_not_png": N_("The signature image is not valid; clear it and sign again."),
    "form.signature_too_large": N_("The signature image is too large; clear it and sign again."),
    # the sales-ledger import (processes/records/ledger_import.py)
    "ledger.old_excel": N_(
        "old Excel files (.xls) are not supported; save the sheet as .xlsx or CSV and import that"
    ),
    "ledger.unsupported_type": N_("unsupported file type '%(name)s'; import a .csv or .xlsx file"),
    "ledger.unknown_encoding": N_(
        "the file's text encoding is not recognised; save it as CSV in UTF-8 or GB18030"
    ),
    "ledger.undecodable": N_("the file's text cannot be decoded"),
    "ledger.malformed_csv": N_("the CSV file is malformed: %(detail)s"),
    "ledger.unreadable_workbook": N_(
        "the Excel file cannot be read (%(kind)s); make sure it is an .xlsx workbook"
    ),
    "ledger.unreadable_file": N_("the file cannot be read: %(detail)s"),
    "ledger.file_too_large": N_("the file is larger than %(limit)s; split it and import the parts"),
    "ledger.too_many_rows": N_("the file has more than %(max)s rows; split it and import the parts"),
    "ledger.no_rows": N_("the file holds no ledger rows"),
    "ledger.more_problems": N_("%(count)s more problems are not listed"),
    "ledger.missing_columns": N_("the required columns %(columns)s are missing"),
    "ledger.blank": N_("%(column)s must not be empty"),
    "ledger.too_long": N_("%(column)s is longer than %(max)s characters"),
    "ledger.bad_quantity": N_("quantity must be a positive whole number"),
    "ledger.bad_money": N_("%(column)s must be a number of zero or more"),
    "ledger.amount_mismatch": N_(
        "amount %(amount)s does not equal quantity × unit price (%(quantity)s × %(price)s = %(expected)s)"
    ),
    "ledger.bad_sale_date": N_("sale date '%(value)s' is not a valid date (such as 2026-01-05 or 2026/1/5)"),
    "ledger.bad_expiry_date": N_(
        "expiry date '%(value)s' is not a valid date (such as 2027-06-30 or 2027/6/30)"
    ),
    "ledger.bad_line_number": N_("line number must be a positive whole number"),
    "ledger.bad_cold_chain": N_("cold chain must be yes or no, not '%(value)s'"),
    "ledger.repeated_line": N_("document %(document)s line %(line)s repeats row %(first)s of the file"),
    "ledger.identical_row": N_(
        "the row is identical to row %(first)s (add a 'line number' column if a document really has two identical lines)"
    ),
    "ledger.already_imported": N_("document %(document)s line %(line)s is already in the ledger"),
    "size.megabytes": N_("%(n)s MB"),
    "size.bytes": N_("%(n)s bytes"),
    "ledger.column.product_name": N_("product name"),
    "ledger.column.specification": N_("specification"),
    "ledger.column.registration_number": N_("registration number"),
    "ledger.column.quantity": N_("quantity"),
    "ledger.column.unit": N_("unit"),
    "ledger.column.unit_price": N_("unit price"),
    "ledger.column.amount": N_("amount"),
    "ledger.column.batch_number": N_("batch/serial number"),
    "ledger.column.expiry_date": N_("expiry date"),
    "ledger.column.sale_date": N_("sale date"),
    "ledger.column.manufacturer": N_("manufacturer"),
    "ledger.column.purchaser_name": N_("purchaser"),
    "ledger.column.purchaser_licence": N_("licence number"),
    "ledger.column.purchaser_address": N_("address"),
    "ledger.column.purchaser_contact": N_("contact"),
    "ledger.column.document_number": N_("document number"),
    "ledger.column.line_number": N_("line number"),
    "ledger.column.cold_chain": N_("cold chain"),
    # the working-time calendar's imports (engine/calendar/csv_import.py, notice.py)
    "calendar.columns": N_("expected date,kind,name"),
    "calendar.not_a_date": N_("'%(value)s' is not a date (such as 2027-02-08)"),
    "calendar.bad_kind": N_("kind '%(kind)s' must be holiday or workday"),
    "calendar.name_too_long": N_("the name is longer than %(max)s characters"),
    "calendar.kind_twice": N_("%(day)s is listed earlier with the other kind"),
    "calendar.too_many_days": N_("at most %(max)s days at a time"),
    "calendar.no_dates": N_("the file lists no dates"),
    "calendar.notice_no_year": N_("the notice names no year (such as “2027年部分节假日安排”); give the year"),
    "calendar.notice_no_items": N_("no holiday item found (such as “一、元旦：1月1日放假”)"),
    "calendar.notice_both_kinds": N_("%(day)s is both a holiday and a working day"),
    "calendar.notice_no_dates": N_("the notice lists no dates"),
    "calendar.notice_no_month": N_("%(name)s: “%(text)s” has no month"),
    "calendar.notice_bad_date": N_("%(name)s: “%(text)s” is not a date"),
    "calendar.notice_long_range": N_("%(name)s: %(first)s to %(last)s is longer than a month"),
    # the side panel's settings, checked when a draft is saved (engine/definitions/draft_checks.py)
    "modeler.setting.service_missing": N_("Service: choose the service the task calls."),
    "modeler.setting.service_unknown": N_(
        "Service: no service is called “%(name)s”; the services are %(known)s."
    ),
    "modeler.setting.parameter_repeated": N_("Parameter “%(name)s” is given twice."),
    "modeler.setting.parameter_unknown": N_(
        "Parameter “%(name)s”: the service %(service)s takes no such parameter; it takes %(known)s."
    ),
    "modeler.setting.parameter_missing": N_("Parameter “%(name)s”: the service %(service)s needs it."),
    "modeler.setting.not_variable": N_(
        "%(field)s: “%(value)s” is not a variable name (letters, digits and underscores, from a letter)."
    ),
    "modeler.setting.empty": N_("%(field)s: give an expression."),
    "modeler.setting.not_expression": N_("%(field)s is not an expression the sandbox runs: %(detail)s"),
    "modeler.setting.message_unknown": N_("Message: “%(name)s” is not a message of this diagram."),
    "modeler.setting.message_starts_another": N_(
        "Message: “%(name)s” already starts the process %(process)s; give this start event a message of its own."
    ),
    "modeler.setting.loop_both": N_("Multi-instance: give either a cardinality or a collection, not both."),
    "modeler.setting.loop_none": N_("Multi-instance: give a cardinality or a collection."),
    "modeler.setting.cardinality_cap": N_(
        "Cardinality: %(value)s is more than the %(cap)s instances a multi-instance activity may create."
    ),
    "modeler.field.result_variable": N_("Result variable"),
    "modeler.field.parameter_name": N_("Parameter name"),
    "modeler.field.parameter": N_("Parameter “%(name)s”"),
    "modeler.field.payload": N_("Message payload"),
    "modeler.field.message_variable": N_("Variable receiving the payload"),
    "modeler.field.cardinality": N_("Cardinality"),
    "modeler.field.collection": N_("Collection"),
    "modeler.field.output_collection": N_("Output collection"),
    "modeler.field.element_variable": N_("Element variable"),
    "modeler.field.output_element": N_("Output element variable"),
    "modeler.field.completion": N_("Completion condition"),
}
#: How a row error begins, and how a list of names (columns) reads.
ROW_PREFIX = N_("row %(row)s: ")
LIST_ITEM = N_("'%(name)s' (%(original)s)")
LIST_SEPARATOR = N_(", ")


def language_of(lang: str | None) -> str:
    """The catalogue language for a language tag: ``en`` for ``en-US``, the default for unknown ones."""
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def _catalogue(language: str) -> NullTranslations:
    if language == "en":  # the wording is written in English
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], domain="messages")


def translate(message: Message, lang: str | None) -> str:
    """Return ``message`` worded in ``lang`` (its code when no wording is known, never nothing).

    A parameter that is itself a message is worded too; a list of messages reads as a list
    of names, each with the name the (Chinese) spreadsheets give it.
    """
    wording = WORDING.get(message.code)
    if wording is None:
        return str(message)
    text = _catalogue(language_of(lang)).gettext(wording)
    if not message.params:
        return text
    return text % {key: _parameter(value, lang) for key, value in message.params.items()}


def _parameter(value: Any, lang: str | None) -> Any:
    if isinstance(value, Message):
        return translate(value, lang)
    if isinstance(value, Mapping) and set(value) == {"zh", "en"}:  # a name the form gives in both
        return value["en"] if language_of(lang) == "en" else value["zh"]
    if isinstance(value, list | tuple) and all(isinstance(item, Message) for item in value):
        catalogue = _catalogue(language_of(lang))
        item = catalogue.gettext(LIST_ITEM)
        names = [
            item % {"name": translate(m, lang), "original": translate(m, DEFAULT_LANGUAGE)} for m in value
        ]
        return catalogue.gettext(LIST_SEPARATOR).join(names)
    return value


def translate_row(row: int, message: Message, lang: str | None) -> str:
    """Word a problem of one row of an imported file (row 0: the file as a whole)."""
    prefix = _catalogue(language_of(lang)).gettext(ROW_PREFIX) % {"row": row} if row else ""
    return prefix + translate(message, lang)


def translate_all(messages: Sequence[Message], lang: str | None) -> list[str]:
    """Word each message, in order."""
    return [translate(message, lang) for message in messages]


def translate_errors(errors: Mapping[str, Sequence[Message]], lang: str | None) -> dict[str, list[str]]:
    """Word the field errors of a form (``FormInvalid.errors``)."""
    return {key: translate_all(found, lang) for key, found in errors.items()}
