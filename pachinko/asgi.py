"""`pachinko.asgi:app`: the app of `$PACHINKO_MANIFEST` (default `./pachinko.toml`).

For `uvicorn pachinko.asgi:app --workers N` and other ASGI servers.
"""

from __future__ import annotations

import os

from pachinko.build import build

app = build(os.environ.get("PACHINKO_MANIFEST", "pachinko.toml"))
