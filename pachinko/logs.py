"""The log configuration of `pachinko serve`: level and logger on every line, or JSON lines.

Query strings often carry tokens (`/ws/chat?token=...`); the access lines of the
server (HTTP requests and WebSocket handshakes) print `?[redacted]` instead,
unless `pachinko serve --log-query-strings` asks for them. The runtime's log
calls pass `extra=` fields (`connection_id`, `route`, `message_type`,
`close_code`); `--log-format json` prints them as fields of their own.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
FORMATS = ("text", "json")

#: Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SKIPPED = frozenset({"color_message"})  # NOTE: uvicorn's colored copy of the message
_QUERY = re.compile(r"(/[^\s?]*)\?[^\s\"]*")


def redact(text: str) -> str:
    """Replace the query string of every path in `text`: `/ws?token=x` -> `/ws?[redacted]`."""
    return _QUERY.sub(rf"\1?{REDACTED}", text)


class RedactQuery(logging.Filter):
    """Drop query strings from the paths a log record prints (it is never filtered out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, str) and "?" in arg else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = redact(record.msg)
        return True


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


def log_config(
    *, redact_queries: bool = True, log_format: str = "text", level: str = "info"
) -> dict[str, Any]:
    """uvicorn's log configuration plus pachinko's logger, for `uvicorn.Config(log_config=)`.

    uvicorn applies it in every worker process too. `text` keeps uvicorn's lines
    as they are and prints pachinko's as `LEVEL: pachinko: message`; `json` makes
    every line, uvicorn's included, a JSON object.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    config = copy.deepcopy(LOGGING_CONFIG)
    formatters = config["formatters"]
    if log_format == "json":
        for name in list(formatters):
            formatters[name] = {"()": f"{__name__}.JsonFormatter"}
        formatters["pachinko"] = {"()": f"{__name__}.JsonFormatter"}
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
    # NOTE: the websockets core logs every open and close at INFO; dictConfig would reset
    # this child of "pachinko" to inherit INFO, so its level is stated here.
    config["loggers"]["pachinko.wire"] = {"level": "WARNING"}
    if redact_queries:
        config["filters"] = {"redact": {"()": f"{__name__}.RedactQuery"}}
        for handler in config["handlers"].values():
            handler["filters"] = ["redact"]
    return config
