"""Class-based message handlers: `WebSocketResource` and `@handles_message`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

if TYPE_CHECKING:
    from pachinko.runtime.connection import Connection

F = TypeVar("F", bound=Callable[..., object])

_MARK = "__pachinko_message__"
_LIFECYCLE = frozenset({"on_connect", "on_disconnect", "on_unhandled"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")


def snake_case(message_type: str) -> str:
    """Map a message type to its method suffix: `sendMessage`, `send-message`, `send.message`
    all become `send_message`."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", message_type)).strip("_").lower()


def handles_message(message_type: str) -> Callable[[F], F]:
    """Declare the decorated resource method as the handler of `message_type`."""

    def mark(method: F) -> F:
        setattr(method, _MARK, message_type)
        return method

    return mark


class WebSocketResource:
    """Base of class-based WebSocket handlers; one instance serves one connection.

    Handlers are `async def m(self, conn, payload)` declared with `@handles_message("t")`
    or named `on_<snake_case_type>`. A resource may also define the five hook methods
    (`async def before_receive(self, conn, event)`, ...), the innermost hook layer.
    `subprotocols` names the application subprotocols it serves when it is added
    to a path that already has a route (hand wiring of `[[routes.subprotocols]]`).
    """

    subprotocols: ClassVar[tuple[str, ...]] = ()

    async def on_connect(self, conn: Connection) -> bool | None:
        """Accept (return None/True) or refuse with HTTP 403 (return False)."""
        return None

    async def on_disconnect(self, conn: Connection, code: int) -> None:
        """Run after the connection closed, whoever closed it."""

    # NOTE: `on_unhandled(self, conn, raw)` is looked up, not inherited: a resource
    # without it gets error frames for undecodable or unknown messages.


def resource_handlers(cls: type) -> dict[str, str]:
    """Map the message types a resource class declares with `@handles_message` to method names."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            message_type = getattr(attr, _MARK, None)
            if isinstance(message_type, str):
                found[message_type] = name
    return found


def convention_handlers(cls: type) -> dict[str, str]:
    """Map `snake_case` suffixes to `on_<suffix>` method names (the naming convention)."""
    return {
        name[3:]: name
        for name in dir(cls)
        if name.startswith("on_") and name not in _LIFECYCLE and callable(getattr(cls, name))
    }


def find_handler(cls: type, message_type: str) -> str | None:
    """Return the method name of `cls` that handles `message_type`, if any."""
    declared = resource_handlers(cls).get(message_type)
    if declared is not None:
        return declared
    return convention_handlers(cls).get(snake_case(message_type))
