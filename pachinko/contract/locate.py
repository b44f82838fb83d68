"""Read a YAML or JSON document and remember where each key and item is written.

`yaml.safe_load` and `json.loads` return plain data without positions; a `Located`
document keeps both, so a problem found in the data can be reported at its line
and column (both 1-based).
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pachinko.errors import Diagnostic, PachinkoError

Pointer = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(\d+(\.\d+)?([eE][+-]?\d+)?|Infinity)|NaN|true|false|null")


class DocumentError(PachinkoError):
    """A document cannot be read or parsed; carries one located diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


@dataclass(frozen=True, slots=True)
class Located:
    """A parsed document and the position of each key (mappings) or item (sequences)."""

    path: Path
    data: object
    positions: dict[Pointer, tuple[int, int]]

    def locate(self, pointer: Pointer) -> tuple[int, int]:
        """Where the key at `pointer` is written, else its nearest written ancestor."""
        while pointer:
            if pointer in self.positions:
                return self.positions[pointer]
            pointer = pointer[:-1]
        return 1, 1


def read_located(path: Path, code_missing: str, code_syntax: str) -> Located:
    """Read a YAML or JSON file (JSON when its suffix is `.json`).

    Raises:
        DocumentError: `code_missing` when unreadable, `code_syntax` when not parsable.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = f"cannot read {path}: {reason}"
        raise DocumentError(Diagnostic(path, 1, 1, code_missing, message)) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg}"
            where = Diagnostic(path, exc.lineno, exc.colno, code_syntax, message)
            raise DocumentError(where) from None
        scanner = _JsonScanner(text)
        scanner.value(())
        return Located(path, data, scanner.positions)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc)
        message = f"invalid YAML: {reason}"
        raise DocumentError(Diagnostic(path, line, column, code_syntax, message)) from None
    positions: dict[Pointer, tuple[int, int]] = {}
    if node is not None:
        _walk_yaml(node, (), positions, set())
    return Located(path, data, positions)


def _walk_yaml(node: yaml.Node, at: Pointer, found: dict, seen: set[int]) -> None:
    if id(node) in seen:  # NOTE: an alias refers back to a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                where = (*at, key.value)
                found.setdefault(where, (key.start_mark.line + 1, key.start_mark.column + 1))
                _walk_yaml(value, where, found, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found[(*at, index)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk_yaml(item, (*at, index), found, seen)


class _JsonScanner:
    """Records the offset of each key and item of a JSON text `json.loads` accepted."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.starts = [0, *(i + 1 for i, char in enumerate(text) if char == "\n")]
        self.positions: dict[Pointer, tuple[int, int]] = {}

    def mark(self, at: Pointer) -> None:
        line = bisect.bisect_right(self.starts, self.pos)
        self.positions[at] = (line, self.pos - self.starts[line - 1] + 1)

    def skip(self) -> str:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.text[self.pos : self.pos + 1]

    def value(self, at: Pointer) -> None:
        char = self.skip()
        if char in "{[":
            closing, index = "}" if char == "{" else "]", 0
            self.pos += 1
            if self.skip() == closing:
                self.pos += 1
                return
            while True:
                self.skip()
                if char == "{":
                    start = self.pos
                    key, self.pos = json.decoder.scanstring(self.text, self.pos + 1)
                    end, self.pos = self.pos, start
                    self.mark((*at, key))
                    self.pos = end
                    self.skip()
                    self.pos += 1  # the ':'
                    self.value((*at, key))
                else:
                    self.mark((*at, index))
                    self.value((*at, index))
                    index += 1
                separator = self.skip()
                self.pos += 1
                if separator == closing:
                    return
        elif char == '"':
            self.pos = json.decoder.scanstring(self.text, self.pos + 1)[1]
        else:
            self.pos = _SCALAR.match(self.text, self.pos).end()  # type: ignore[union-attr]
