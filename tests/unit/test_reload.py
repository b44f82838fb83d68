"""What `--reload` watches, and how log lines hide query strings."""

from __future__ import annotations

import json
import logging
import types
from pathlib import Path

import watchfiles

from pachinko.logs import RedactQuery, redact
from pachinko.reload import is_watched, user_folders


def _module(file: Path | None) -> types.ModuleType:
    module = types.ModuleType("fx_reload_module")
    module.__file__ = None if file is None else str(file)
    return module


def test_watched_folders_are_the_manifests_and_those_of_user_modules(tmp_path: Path) -> None:
    app, lib = tmp_path / "app", tmp_path / "lib"
    (app / "sub").mkdir(parents=True)
    lib.mkdir()
    modules = [
        _module(app / "handlers.py"),
        _module(app / "sub" / "deep.py"),  # inside app/: watched through it
        _module(lib / "shared.py"),
        _module(Path(json.__file__)),  # the stdlib is not the user's
        _module(None),
    ]
    assert user_folders(app / "pachinko.toml", modules) == {app, lib}


def test_the_manifest_and_python_sources_are_watched(tmp_path: Path) -> None:
    accept = is_watched(tmp_path / "pachinko.toml")
    changed = watchfiles.Change.modified
    assert accept(changed, str(tmp_path / "pachinko.toml"))
    assert accept(changed, str(tmp_path / "handlers.py"))
    assert not accept(changed, str(tmp_path / "other.toml"))
    assert not accept(changed, str(tmp_path / "notes.txt"))


def test_query_strings_are_redacted_from_paths_only() -> None:
    assert redact('"GET /ws/chat?token=s3cret HTTP/1.1"') == '"GET /ws/chat?[redacted] HTTP/1.1"'
    assert redact("/ws/chat?token=a&b=c") == "/ws/chat?[redacted]"
    assert redact("is it? yes") == "is it? yes"


def test_the_filter_rewrites_a_records_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/ws?token=x"), None,
    )  # fmt: skip
    assert RedactQuery().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "WebSocket /ws?[redacted]" [accepted]'
