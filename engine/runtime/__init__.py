"""The runtime: the ``Engine`` facade and the commands it runs, each one unit of work."""

from engine.runtime.engine import (
    ACTIVE,
    SCHEDULED,
    TERMINAL,
    CommandState,
    Engine,
    EngineConfig,
    StartedInstance,
    run_until_input_needed,
)

__all__ = [
    "ACTIVE",
    "SCHEDULED",
    "TERMINAL",
    "CommandState",
    "Engine",
    "EngineConfig",
    "StartedInstance",
    "run_until_input_needed",
]
