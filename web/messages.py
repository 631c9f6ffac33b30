"""Word the message codes of the engine and the domain in the user's language.

The engine and ``processes`` say what happened as a code with parameters (``engine.messages``);
the wording of each code lives here, in English, and the Babel catalogue in ``web/translations``
gives every other language — the same catalogue the pages and flashes use. Nothing here needs a
request: the CLI words messages with the same function.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

from babel.support import NullTranslations, Translations

from engine.messages import Message

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
}


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
    """Return ``message`` worded in ``lang`` (its code when no wording is known, never nothing)."""
    wording = WORDING.get(message.code)
    if wording is None:
        return str(message)
    text = _catalogue(language_of(lang)).gettext(wording)
    return text % dict(message.params) if message.params else text


def translate_all(messages: Sequence[Message], lang: str | None) -> list[str]:
    """Word each message, in order."""
    return [translate(message, lang) for message in messages]


def translate_errors(errors: Mapping[str, Sequence[Message]], lang: str | None) -> dict[str, list[str]]:
    """Word the field errors of a form (``FormInvalid.errors``)."""
    return {key: translate_all(found, lang) for key, found in errors.items()}
