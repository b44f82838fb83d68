"""A hand-written Falcon `on_websocket` loop: receive_text, msgspec, if/elif."""

from __future__ import annotations

from typing import Any

import falcon.asgi
from falcon import WebSocketDisconnected

from bench.workload import decode_envelope, decode_fanout, news_text, respond


class Requests:
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        await ws.accept()
        receive, send = ws.receive_text, ws.send_text
        try:
            while True:
                await send(respond(await receive()))
        except WebSocketDisconnected:
            pass


class Room:
    def __init__(self) -> None:
        self.members: list[falcon.asgi.WebSocket] = []

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        await ws.accept()
        members = self.members
        members.append(ws)
        try:
            while True:
                envelope = decode_envelope(await ws.receive_text())
                if envelope.type == "fanout":
                    text = news_text(decode_fanout(envelope.payload))
                    for member in tuple(members):
                        try:  # noqa: SIM105 - suppress() costs a context manager per member
                            await member.send_text(text)
                        except Exception:
                            pass
        except WebSocketDisconnected:
            pass
        finally:
            members.remove(ws)


def make() -> Any:
    app = falcon.asgi.App()
    app.add_route("/ws", Requests())
    app.add_route("/room", Room())
    return app
