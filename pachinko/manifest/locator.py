"""Where each key of a TOML document is written: key paths -> 1-based (line, column).

`tomllib` returns plain dicts without positions, so `Locator` scans the text itself.
It only ever sees documents `tomllib` has already accepted, and it is best effort:
whatever it cannot follow is left out and `locate` falls back to an ancestor.
"""

from __future__ import annotations

import bisect
import contextlib
import sys
from collections.abc import Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

KeyPath = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n\r")


class _Stop(Exception):
    """The scanner met something it does not follow; keep what was found."""


class Locator:
    """Positions of the keys (and values) of one TOML document.

    Array elements are addressed by their index (`("routes", 2, "path")`); an
    array-of-tables element is located at its `[[header]]`.
    """

    def __init__(self, text: str) -> None:
        self._starts = [0, *(i + 1 for i, char in enumerate(text) if char == "\n")]
        scanner = _Scanner(text)
        # NOTE: best effort; a partial map still locates most keys.
        with contextlib.suppress(_Stop, IndexError, ValueError, RecursionError):
            scanner.document()
        self._keys = {path: self._where(offset) for path, offset in scanner.keys.items()}
        self._values = {path: self._where(offset) for path, offset in scanner.values.items()}

    def _where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def locate(self, key_path: Sequence[str | int]) -> tuple[int, int]:
        """Return where the key is written, else where its nearest written ancestor is."""
        path = tuple(key_path)
        while path:
            if path in self._keys:
                return self._keys[path]
            path = path[:-1]
        return 1, 1

    def locate_value(self, key_path: Sequence[str | int]) -> tuple[int, int]:
        """Return where the key's value starts, else fall back like `locate`."""
        path = tuple(key_path)
        return self._values.get(path) or self.locate(path)

    def __contains__(self, key_path: object) -> bool:
        return isinstance(key_path, tuple) and key_path in self._keys

    def __repr__(self) -> str:
        return f"<Locator {len(self._keys)} keys>"


class _Scanner:
    """A recursive-descent reader of valid TOML that records offsets, not values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.keys: dict[KeyPath, int] = {}
        self.values: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # array-of-tables path -> elements so far

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.blank()
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "[":
                table = self.header()
            else:
                self.keyval(table)

    def header(self) -> KeyPath:
        start = self.pos
        is_array = self.text.startswith("[[", start)
        self.pos += 2 if is_array else 1
        names = [name for name, _ in self.key()]
        self.spaces()
        self.expect("]]" if is_array else "]")
        path: KeyPath = ()
        for index, name in enumerate(names):
            path = (*path, name)
            if index == len(names) - 1 and is_array:
                count = self.arrays.get(path, 0)
                self.arrays[path] = count + 1
                self.keys.setdefault(path, start)
                path = (*path, count)
            elif path in self.arrays:
                self.keys.setdefault(path, start)
                path = (*path, self.arrays[path] - 1)
            self.keys.setdefault(path, start)
        self.keys[path] = start
        return path

    def keyval(self, table: KeyPath) -> None:
        path = table
        for name, start in self.key():
            path = (*path, name)
            self.keys.setdefault(path, start)
        self.keys[path] = start
        self.spaces()
        self.expect("=")
        self.spaces()
        self.value(path)

    def key(self) -> list[tuple[str, int]]:
        """Read a dotted key: each part with its offset."""
        names = []
        while True:
            self.spaces()
            start = self.pos
            if self.text[start] in "\"'":
                self.string()
                names.append((tomllib.loads(f"k = {self.text[start : self.pos]}")["k"], start))
            else:
                while self.pos < len(self.text) and self.text[self.pos] in _BARE:
                    self.pos += 1
                if self.pos == start:
                    raise _Stop
                names.append((self.text[start : self.pos], start))
            self.spaces()
            if self.text[self.pos] != ".":
                return names
            self.pos += 1

    def value(self, path: KeyPath) -> None:
        self.values[path] = self.pos
        char = self.text[self.pos]
        if char in "\"'":
            self.string()
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.blank()
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return
                self.keys[(*path, index)] = self.pos
                self.value((*path, index))
                index += 1
                self.blank()
                if self.text[self.pos] == ",":
                    self.pos += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.blank()
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return
                self.keyval(path)
                self.blank()
                if self.text[self.pos] == ",":
                    self.pos += 1
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1
            if self.pos == start:
                raise _Stop

    def string(self) -> None:
        quote = self.text[self.pos]
        escapes = quote == '"'
        delimiter = quote * 3 if self.text.startswith(quote * 3, self.pos) else quote
        self.pos += len(delimiter)
        while not self.text.startswith(delimiter, self.pos):
            if self.pos >= len(self.text):
                raise _Stop
            self.pos += 2 if escapes and self.text[self.pos] == "\\" else 1
        self.pos += len(delimiter)
        if len(delimiter) == 3:  # NOTE: up to two quotes may close the content: """a"""""
            for _ in range(2):
                if self.text.startswith(quote, self.pos):
                    self.pos += 1

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Stop
        self.pos += len(token)

    def spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def blank(self) -> None:
        """Skip whitespace, newlines and comments."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return
