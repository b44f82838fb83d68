"""Read `pachinko.toml` into a `Manifest`, reporting every structural problem at its key."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import msgspec

from pachinko.errors import Diagnostic, ManifestError
from pachinko.manifest.check import Checker
from pachinko.manifest.diagnostics import (
    FILE_NOT_FOUND,
    IDLE_BEFORE_PING,
    INVALID_ENCODING,
    TOML_SYNTAX,
    UNREADABLE,
    UNSUPPORTED_VERSION,
    WRONG_TYPE,
    Collector,
    read_validation_error,
)
from pachinko.manifest.locator import Locator
from pachinko.manifest.model import Manifest
from pachinko.manifest.values import dec_hook
from pachinko.manifest.wording import dotted

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load(path: str | os.PathLike[str]) -> Manifest:
    """Read, parse and validate a manifest file.

    Raises:
        ManifestError: with every structural problem found, sorted by line and column.
    """
    manifest = read(path)
    if any(diagnostic.is_error for diagnostic in manifest.diagnostics):  # type: ignore[attr-defined]
        raise ManifestError(manifest.diagnostics)  # type: ignore[arg-type]
    return manifest


def read(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest, salvaging what is usable: its problems are in `manifest.diagnostics`.

    Raises:
        ManifestError: only when nothing is usable (no file, not UTF-8, not TOML).
    """
    where = Path(path).absolute()

    def fail(code: str, message: str, line: int = 1, column: int = 1) -> ManifestError:
        return ManifestError([Diagnostic(where, line, column, code, message)])

    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise fail(FILE_NOT_FOUND, f"manifest not found: {where}") from None
    except OSError as exc:
        raise fail(UNREADABLE, f"cannot read the manifest: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"the manifest is not valid UTF-8 (byte 0x{byte})"
        raise fail(INVALID_ENCODING, message, line, column) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(where, text, str(exc)) from None
    except RecursionError:
        raise fail(TOML_SYNTAX, "invalid TOML: values are nested too deeply") from None
    return parse(document, Locator(text), where)


def parse(document: dict[str, object], locator: Locator, path: Path) -> Manifest:
    """Validate a parsed TOML document and build the (maybe salvaged) `Manifest`.

    Raises:
        ManifestError: only if even the salvaged document cannot be converted.
    """
    report = Collector(path, locator)
    check = Checker(report)
    cleaned = check.clean(document)
    version = document.get("version")
    if type(version) is int and version != 1:
        report.error(
            ("version",), UNSUPPORTED_VERSION, f"unsupported manifest version {version}",
            "this pachinko reads `version = 1`",
        )  # fmt: skip
    try:
        manifest = msgspec.convert(cleaned, Manifest, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:  # NOTE: a safety net; the walk should catch it all
        found = read_validation_error(exc)
        report.error(found.keys, WRONG_TYPE, f"{found.reason} at '{dotted(found.keys)}'")
        raise ManifestError(report.sorted()) from None
    limits = manifest.limits
    timeouts = {("limits", "idle_timeout"), ("limits", "ping_interval"), ("limits",)}
    if limits.idle_timeout <= limits.ping_interval and not timeouts & check.broken:
        key = ("limits", "idle_timeout")
        report.warning(
            key if key in locator else ("limits", "ping_interval"),
            IDLE_BEFORE_PING,
            f"idle_timeout ({limits.idle_timeout:g}s) is not longer than ping_interval "
            f"({limits.ping_interval:g}s): quiet but healthy clients are closed as idle",
            "make idle_timeout a few ping intervals long, e.g. 3 x ping_interval",
        )
    return msgspec.structs.replace(
        manifest,
        path=str(path),
        locations=locator,
        diagnostics=report.sorted(),
        broken=frozenset(check.broken),
    )


def _syntax_error(path: Path, text: str, message: str) -> ManifestError:
    match = _SYNTAX_AT.search(message)
    if match:
        line, column = int(match[1]), int(match[2])
        message = message[: match.start()]
    else:  # "(at end of document)"
        message = message.replace(" (at end of document)", "")
        # NOTE: TOML lines end at "\n" only; str.splitlines() also splits at \v, \f, ...
        lines = text.removesuffix("\n").split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    reason = message[:1].lower() + message[1:]
    diagnostic = Diagnostic(path, line, column, TOML_SYNTAX, f"invalid TOML: {reason}")
    return ManifestError([diagnostic])
