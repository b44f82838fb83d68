"""Litestar's `websocket_listener`, in its fastest form.

`data: str` and a `str` return skip Litestar's untyped `decode_json` and its
encoder: a listener whose `data` is annotated with a Struct gets a plain dict
(without a DTO), so decoding with our own msgspec Decoders is both the fastest
and the typed way. Broadcast keeps a plain list of sockets (faster than the
channels plugin, which adds a queue and a task per subscriber).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, WebSocket, websocket_listener

from bench.workload import decode_envelope, decode_fanout, news_text, respond


def make() -> Any:
    members: list[WebSocket] = []

    # NOTE: Litestar resolves these (string) annotations against this module's globals.
    async def requests(data: str) -> str:
        return respond(data)

    async def join(socket: WebSocket) -> None:
        members.append(socket)

    async def leave(socket: WebSocket) -> None:
        members.remove(socket)

    async def room(data: str) -> None:
        envelope = decode_envelope(data)
        if envelope.type == "fanout":
            text = news_text(decode_fanout(envelope.payload))
            for member in tuple(members):
                try:  # noqa: SIM105 - suppress() costs a context manager per member
                    await member.send_text(text)
                except Exception:
                    pass

    handlers = [
        websocket_listener("/ws")(requests),
        websocket_listener("/room", on_accept=join, on_disconnect=leave)(room),
    ]
    return Litestar(route_handlers=handlers, logging_config=None, openapi_config=None)
