"""`pachinko.logs`: JSON lines with the runtime's `extra=` fields, and uvicorn's config."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from pachinko.logs import JsonFormatter, log_config


def record(**extra: object) -> logging.LogRecord:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        info = sys.exc_info()
    made = logging.LogRecord("pachinko", logging.ERROR, __file__, 1, "crash on %s", ("c1",), info)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_level_logger_message_fields_and_the_traceback() -> None:
    line = json.loads(JsonFormatter().format(record(connection_id="c1", close_code=1011)))
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "pachinko", "crash on c1")
    assert (line["connection_id"], line["close_code"]) == ("c1", 1011)
    assert "RuntimeError: boom" in line["exception"]
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "connection_id",
        "close_code",
        "exception",
    }


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_config_gives_pachinko_its_own_handler_at_the_level(log_format: str) -> None:
    config = log_config(log_format=log_format, level="warning")
    assert config["loggers"]["pachinko"] == {
        "handlers": ["pachinko"],
        "level": "WARNING",
        "propagate": False,
    }
    formatters = config["formatters"]
    if log_format == "json":
        assert all(f == {"()": "pachinko.logs.JsonFormatter"} for f in formatters.values())
    else:
        assert "%(name)s" in formatters["pachinko"]["fmt"]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        log_config(log_format="xml")


def test_the_websocket_cores_open_and_close_lines_stay_quiet_under_pachinko_serve() -> None:
    # NOTE: in a child process: applying a logging config here would change this session's.
    script = (
        "import logging, logging.config\n"
        "import pachinko.serve\n"
        "from pachinko.logs import log_config\n"
        "logging.config.dictConfig(log_config(level='info'))\n"
        "print(logging.getLogger('pachinko.wire').isEnabledFor(logging.INFO),"
        " logging.getLogger('pachinko').isEnabledFor(logging.INFO))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "True"]
