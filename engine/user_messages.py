"""Messages for people as codes with parameters: the engine names what happened, the web words it.

One translation system serves the whole product: the web tier's Babel catalogue holds the
wording of every code in each language, so the engine and the domain never carry text pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """A message for a person: a code (``form.required``) and the values its wording names."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.code}({shown})" if shown else self.code

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted((k, str(v)) for k, v in self.params.items()))))
