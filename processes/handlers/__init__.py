"""Service-task handlers, one module per business area; ``@service("name")`` registers one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])

REGISTRY: dict[str, Callable[..., Any]] = {}


def service(name: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of service operation ``name``."""

    def register(function: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"service operation '{name}' is registered twice")
        REGISTRY[name] = function
        return function

    return register
