"""Two versions of one chat protocol, served side by side."""

from __future__ import annotations

import msgspec

from pachinko import Connection, WebSocketResource


class SendV1(msgspec.Struct):
    text: str


class SendV2(msgspec.Struct):
    body: str
    format: str = "plain"


class ChatV1(WebSocketResource):
    """The first protocol: `send` carries `text`."""

    async def on_send(self, conn: Connection, payload: SendV1) -> dict[str, object]:
        return {"version": 1, "text": payload.text, "subprotocol": conn.subprotocol}


class ChatV2(WebSocketResource):
    """The second protocol: `send` carries `body` and `format`."""

    async def on_send(self, conn: Connection, payload: SendV2) -> dict[str, object]:
        return {"version": 2, "body": payload.body, "subprotocol": conn.subprotocol}
