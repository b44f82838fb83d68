"""Stage 1: `pachinko.toml` -> `Manifest` (pure data, no user imports)."""
