"""Restored specs shared by every definition cache of this process that prepares them the same way.

Restoring a version's spec from its JSON takes tens of milliseconds. Several engines in one
process (a web app beside its worker, each test's engine) read the same versions; a spec they
prepare alike (``prepared_for``, e.g. the sandbox's limits) is restored once, found by the
sha256 of its JSON. Specs are read-only once prepared, so sharing them is safe.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from engine.store.serialization import ProcessSpecs, specs_from_json

#: How many restored specs this process keeps (the oldest used goes first).
KEPT_SPECS = 128

_kept: OrderedDict[tuple[str, Hashable], ProcessSpecs] = OrderedDict()
_lock = threading.Lock()


def restored_specs(
    spec_json: str, prepare: Callable[[ProcessSpecs], None] | None, prepared_for: Hashable
) -> ProcessSpecs:
    """The specs of ``spec_json`` prepared by ``prepare``, restored once per ``prepared_for``."""
    key = (hashlib.sha256(spec_json.encode()).hexdigest(), prepared_for)
    with _lock:
        specs = _kept.get(key)
        if specs is not None:
            _kept.move_to_end(key)
            return specs
    specs = specs_from_json(spec_json)
    if prepare is not None:
        prepare(specs)
    with _lock:
        specs = _kept.setdefault(key, specs)
        while len(_kept) > KEPT_SPECS:
            _kept.popitem(last=False)
    return specs


def forget_restored_specs() -> None:
    """Drop every kept spec (the next read of any version restores it again)."""
    with _lock:
        _kept.clear()
