"""Stage 1: `pachinko.toml` -> `Manifest` (pure data, no user imports)."""

from __future__ import annotations

from pachinko.manifest.diagnostics import CODES
from pachinko.manifest.locator import Locator
from pachinko.manifest.model import Manifest
from pachinko.manifest.parse import load, read

__all__ = ["CODES", "Locator", "Manifest", "load", "read"]
