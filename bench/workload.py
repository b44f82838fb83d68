"""The workload every contender serves: three typed message types and one broadcast.

Client frames are nested envelopes `{"type", "payload", "id"}`; every reply is
`{"type": "<type>.reply", "payload": ..., "id": <id>}`. The floor, Falcon and
Litestar share `respond` (decode the envelope once with a `msgspec.Raw`
payload, if/elif on the type, decode the payload, encode the reply), so they
differ only in the framework around it.
"""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct):
    type: str
    payload: msgspec.Raw = msgspec.Raw()
    id: str | int | None = None


# NOTE: forbid_unknown_fields matches pachinko's default `strict = true`, so every
# contender validates the same way (and pachinko uses these types unchanged).
class Add(msgspec.Struct, forbid_unknown_fields=True):
    a: int
    b: int


class Sum(msgspec.Struct):
    sum: int


class Echo(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class Stats(msgspec.Struct, forbid_unknown_fields=True):
    values: list[float]


class Mean(msgspec.Struct):
    mean: float


class Fanout(msgspec.Struct, forbid_unknown_fields=True):
    """Payload of the broadcast trigger; the broadcast carries it unchanged."""

    seq: int
    text: str


class Reply(msgspec.Struct):
    type: str
    payload: object
    id: str | int


class Frame(msgspec.Struct):
    type: str
    payload: object = None


class News(msgspec.Struct):
    """What a broadcast receiver decodes."""

    payload: Fanout


ROOM = "all"
decode_envelope = msgspec.json.Decoder(Envelope).decode
decode_add = msgspec.json.Decoder(Add).decode
decode_echo = msgspec.json.Decoder(Echo).decode
decode_stats = msgspec.json.Decoder(Stats).decode
decode_fanout = msgspec.json.Decoder(Fanout).decode
decode_news = msgspec.json.Decoder(News).decode
encode = msgspec.json.Encoder().encode


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def respond(data: str | bytes) -> str:
    """Answer one client frame: the if/elif dispatch of the floor, Falcon and Litestar."""
    try:
        envelope = decode_envelope(data)
        kind = envelope.type
        if kind == "add":
            add = decode_add(envelope.payload)
            return encode(Reply("add.reply", Sum(add.a + add.b), envelope.id)).decode()
        if kind == "echo":
            return encode(Reply("echo.reply", decode_echo(envelope.payload), envelope.id)).decode()
        if kind == "stats":
            stats = decode_stats(envelope.payload)
            return encode(Reply("stats.reply", Mean(mean(stats.values)), envelope.id)).decode()
        error = {"code": "unknown_type", "message": kind}
        return encode(Frame("error", error)).decode()
    except msgspec.MsgspecError:
        return encode(Frame("error", {"code": "invalid", "message": "bad frame"})).decode()


def news_text(fanout: Fanout) -> str:
    """The broadcast frame, encoded once: `{"type": "news", "payload": {...}}`."""
    return encode(Frame("news", fanout)).decode()


def fanout_request(seq: int) -> str:
    return encode({"type": "fanout", "payload": {"seq": seq, "text": f"broadcast {seq}"}}).decode()


def _requests() -> list[str]:
    out: list[str] = []
    for i in range(10):
        ids = [3 * i + 1, 3 * i + 2, 3 * i + 3]
        ids = [f"m{n}" if n % 5 == 0 else n for n in ids]  # ids are str or int
        out.append(
            encode({"type": "add", "payload": {"a": i, "b": 2 * i + 1}, "id": ids[0]}).decode()
        )
        text = f"hello {i} " * (1 + i % 3)
        out.append(encode({"type": "echo", "payload": {"text": text}, "id": ids[1]}).decode())
        values = [i * 0.5 + j for j in range(8)]
        out.append(encode({"type": "stats", "payload": {"values": values}, "id": ids[2]}).decode())
    return out


REQUESTS: list[str] = _requests()
EXPECTED: list[str] = [respond(text) for text in REQUESTS]
