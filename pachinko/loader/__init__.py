"""Stage 2: `Manifest` -> `Plan` (imports, signatures, plugins)."""
