"""Built-in `pachinko.extensions` plugins, and the interface every extension implements.

An extension is a class with a `config` msgspec Struct (its `[plugins.NAME]`
table), made as `cls(config)`; the other members are optional. See
docs/extensions.md.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


class Extension(Protocol):
    """A lifecycle extension (`pachinko.extensions` entry point); only `config` is required."""

    config: ClassVar[type]

    def setup(self, app: Any, router: Any) -> None:
        """Once, when the app is built: add HTTP routes, turn on counts (`router.stats`)."""

    async def startup(self, app: Any) -> None:
        """At lifespan startup, before workers start."""

    async def shutdown(self, app: Any) -> None:
        """At lifespan shutdown, after connections are drained."""

    def connected(self, conn: Any) -> None:
        """A connection was accepted (per connection, never per message)."""

    def disconnected(self, conn: Any, code: int | None) -> None:
        """A connection ended with close code `code`."""
