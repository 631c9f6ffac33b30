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


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every log line to stderr, as text or as one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO: the command line says enough.
    logging.getLogger("spiff").setLevel(logging.WARNING)
