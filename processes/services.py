"""Service-task handlers diagrams may call (``spiffworkflow:serviceTaskOperator``), by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SERVICES: dict[str, Callable[..., Any]] = {}
