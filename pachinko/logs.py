"""The log configuration of `pachinko serve`: every line carries its level, query strings redacted.

Query strings often carry tokens (`/ws/chat?token=...`); the access lines of the
server (HTTP requests and WebSocket handshakes) print `?[redacted]` instead,
unless `pachinko serve --log-query-strings` asks for them.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
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


def log_config(*, redact_queries: bool = True) -> dict[str, Any]:
    """uvicorn's log configuration, plus pachinko's loggers (same format, level first)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["pachinko"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if redact_queries:
        config["filters"] = {"redact": {"()": f"{__name__}.RedactQuery"}}
        for handler in config["handlers"].values():
            handler["filters"] = ["redact"]
    return config
