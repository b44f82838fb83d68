"""The floor: a raw ASGI app, msgspec and if/elif dispatch, nothing else."""

from __future__ import annotations

from typing import Any

from bench.workload import decode_envelope, decode_fanout, news_text, respond

ACCEPT = {"type": "websocket.accept"}


def make() -> Any:
    members: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "websocket":
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send(ACCEPT)
        if scope["path"] == "/ws":
            while True:
                event = await receive()
                if event["type"] != "websocket.receive":
                    return
                data = event.get("text")
                await send(
                    {
                        "type": "websocket.send",
                        "text": respond(data if data is not None else event["bytes"]),
                    }
                )
        members.append(send)
        try:
            while True:
                event = await receive()
                if event["type"] != "websocket.receive":
                    return
                data = event.get("text")
                envelope = decode_envelope(data if data is not None else event["bytes"])
                if envelope.type == "fanout":
                    # NOTE: encode once; every member gets the same event.
                    out = {
                        "type": "websocket.send",
                        "text": news_text(decode_fanout(envelope.payload)),
                    }
                    for member in tuple(members):
                        try:  # noqa: SIM105 - suppress() costs a context manager per member
                            await member(out)
                        except Exception:
                            pass
        finally:
            members.remove(send)

    return app
