"""Stage 2: `Manifest` -> `Plan` (imports, signatures, plugins)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pachinko.errors import Diagnostic, ManifestError
from pachinko.loader.records import Plan
from pachinko.loader.resolve import plan
from pachinko.manifest import read
from pachinko.manifest.diagnostics import sort_diagnostics

__all__ = ["CheckResult", "Plan", "check", "examine", "plan"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Everything `pachinko check` reports about one manifest."""

    path: Path
    diagnostics: tuple[Diagnostic, ...]
    plan: Plan | None  # None when there is any error

    @property
    def errors(self) -> int:
        return sum(diagnostic.is_error for diagnostic in self.diagnostics)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors


def examine(path: str | Path, *, processes: int = 1) -> CheckResult:
    """Read and resolve the manifest at `path`, collecting every diagnostic of both stages.

    A structural mistake in one part does not stop the import, signature and plugin
    checks of the parts that parsed. Never raises for problems of the manifest or of
    the code it names.
    """
    try:
        resolved = plan(read(path), processes=processes)
    except ManifestError as error:
        return CheckResult(Path(path), sort_diagnostics(error.diagnostics), None)
    return CheckResult(Path(path), resolved.warnings, resolved)


def check(path: str | Path) -> tuple[Diagnostic, ...]:
    """Return every diagnostic of the manifest at `path`, in file order."""
    return examine(path).diagnostics
