"""Logging for the server: plain lines, or one JSON object a line (``--json-logs``)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["JsonFormatter", "log_config"]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def log_config(json_lines: bool) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's and truceline's loggers."""
    fmt: dict[str, Any] = (
        {"()": JsonFormatter}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    loggers = ("uvicorn", "uvicorn.error", "uvicorn.access", "truceline")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": fmt},
        "handlers": {"main": handler},
        "loggers": {
            name: {"handlers": ["main"], "level": "INFO", "propagate": False} for name in loggers
        },
    }
