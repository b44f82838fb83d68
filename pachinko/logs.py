"""How `pachinko serve` logs: level and logger name on every line, or JSON lines.

The runtime's log calls pass `extra=` fields (`connection_id`, `route`,
`message_type`, `close_code`); the JSON format prints them as fields of their own.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime, timezone
from typing import Any

from uvicorn.config import LOGGING_CONFIG

FORMATS = ("text", "json")

#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SKIPPED = frozenset({"color_message"})  # NOTE: uvicorn's colored copy of the message


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _SKIPPED:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_config(log_format: str = "text", level: str = "info") -> dict[str, Any]:
    """uvicorn's logging config plus the `pachinko` logger's, for `uvicorn.Config(log_config=)`.

    uvicorn applies it in every worker process too. `text` keeps uvicorn's
    lines as they are and prefixes pachinko's with the logger name; `json`
    makes every line, uvicorn's included, a JSON object.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    config = copy.deepcopy(LOGGING_CONFIG)
    formatters = config["formatters"]
    if log_format == "json":
        for name in list(formatters):
            formatters[name] = {"()": "pachinko.logs.JsonFormatter"}
        formatters["pachinko"] = {"()": "pachinko.logs.JsonFormatter"}
    else:
        formatters["pachinko"] = {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(name)s: %(message)s",
        }
    config["handlers"]["pachinko"] = {
        "formatter": "pachinko",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["pachinko"] = {
        "handlers": ["pachinko"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
