"""Fixtures for loader tests: a throwaway project folder with uniquely named modules."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

_COUNTER = itertools.count()


class Project:
    """A folder holding a manifest and the modules it imports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.modules: list[str] = []

    def module(self, source: str) -> str:
        """Write a module with a name no other test uses, and return that name."""
        name = f"fx_loader_{next(_COUNTER)}"
        (self.folder / f"{name}.py").write_text(textwrap.dedent(source))
        self.modules.append(name)
        return name

    def manifest(self, text: str) -> Path:
        """Write `pachinko.toml`; `version = 1` is prepended."""
        path = self.folder / "pachinko.toml"
        path.write_text("version = 1\n" + textwrap.dedent(text).lstrip("\n"))
        return path


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    folder = tmp_path / "chatapp"
    folder.mkdir()
    made = Project(folder)
    yield made
    for name in made.modules:
        sys.modules.pop(name, None)
    while str(folder) in sys.path:
        sys.path.remove(str(folder))
