"""Every private name of Falcon or uvicorn that pachinko relies on, in one place.

tests/unit/test_shim.py asserts that each still exists in the installed
versions; pyproject caps the major versions these were written against.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon.asgi

# NOTE: Falcon keeps the middleware passed to add_middleware in this list, unprepared;
# there is no public getter, and its App is slotted (no attribute of our own to keep).
APP_MIDDLEWARE = "_unprepared_middleware"
# NOTE: after accept, Falcon's WebSocket has no public way to receive or send a raw ASGI
# event (text or bytes, whichever comes); these are its buffered receive and its send.
WS_RECEIVE = "_asgi_receive"
WS_SEND = "_asgi_send"

NAMES: dict[type, tuple[str, ...]] = {
    falcon.asgi.App: (APP_MIDDLEWARE,),
    falcon.asgi.WebSocket: (WS_RECEIVE, WS_SEND),
}


def app_middleware(app: falcon.asgi.App) -> Iterable[object]:
    """The middleware objects added to `app`, in order."""
    return getattr(app, APP_MIDDLEWARE, ())


async def websocket_receive(ws: falcon.asgi.WebSocket) -> dict[str, Any]:
    """The next raw ASGI event of an accepted Falcon `WebSocket`."""
    return await getattr(ws, WS_RECEIVE)()


async def websocket_send(ws: falcon.asgi.WebSocket, event: dict[str, Any]) -> None:
    """Send a raw ASGI event through a Falcon `WebSocket`."""
    await getattr(ws, WS_SEND)(event)
