"""All service-task handlers diagrams may call, by operation name."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from processes import handlers


def _load_handlers() -> dict[str, Callable[..., Any]]:
    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{module.name}")
    return dict(handlers.REGISTRY)


SERVICES: dict[str, Callable[..., Any]] = _load_handlers()
