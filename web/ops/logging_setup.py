"""Log lines as text for a terminal or as JSON (``AFTERFLOW_LOG_FORMAT=json``) for a log collector."""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


#: What a line of another library keeps: SpiffWorkflow, for one, puts a task's data in its extras.
PLAIN_FIELDS = frozenset({"time", "level", "logger", "message", "exc_info", "asctime", "levelname", "name"})


class LogLineFormatter(JsonFormatter):
    """One JSON object per line; fields beyond time, level, logger and message only from afterflow's loggers."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """Fill the line's fields, dropping other libraries' extras (they may hold case data)."""
        super().add_fields(log_data, record, message_dict)
        if not record.name.startswith("afterflow"):
            for key in [key for key in log_data if key not in PLAIN_FIELDS]:
                del log_data[key]


def json_formatter() -> LogLineFormatter:
    """The formatter of ``AFTERFLOW_LOG_FORMAT=json``."""
    return LogLineFormatter(
        JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
    )


class _LineHandler(logging.StreamHandler):
    """The stderr handler afterflow installs (told apart from a host's own handlers)."""


def _not_a_command_line(record: logging.LogRecord) -> bool:
    return not (record.name == "afterflow.command" and record.levelno < logging.WARNING)


def configure_logging(
    log_format: str = "text", level: int = logging.INFO, quiet_commands: bool = False
) -> None:
    """Send log lines to stderr as text or JSON; ``quiet_commands`` leaves out the per-command lines.

    A host that set up logging itself (a test runner, an embedding application) keeps its own.
    """
    root = logging.getLogger()
    if any(not isinstance(handler, _LineHandler) for handler in root.handlers):
        return
    for existing in list(root.handlers):
        root.removeHandler(existing)
    handler = _LineHandler(sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    if quiet_commands:
        handler.addFilter(_not_a_command_line)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO: the command log says enough.
    logging.getLogger("spiff").setLevel(logging.WARNING)
