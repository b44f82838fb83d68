"""The built-in codecs, registered through pachinko's own entry points."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import msgspec

from pachinko.codecs.base import Decode


class JsonCodec:
    """JSON in text frames, by msgspec."""

    name: ClassVar[str] = "json"
    subprotocol: ClassVar[str] = "pachinko.json"
    is_binary: ClassVar[bool] = False

    def __init__(self) -> None:
        # NOTE: a bound C method, so encoding costs no Python frame.
        self.encode: Callable[[object], bytes] = msgspec.json.Encoder().encode

    def decoder(self, type_: object) -> Decode:
        return msgspec.json.Decoder(type_).decode


class MsgpackCodec:
    """MessagePack in binary frames, by msgspec."""

    name: ClassVar[str] = "msgpack"
    subprotocol: ClassVar[str] = "pachinko.msgpack"
    is_binary: ClassVar[bool] = True

    def __init__(self) -> None:
        self.encode: Callable[[object], bytes] = msgspec.msgpack.Encoder().encode

    def decoder(self, type_: object) -> Decode:
        return msgspec.msgpack.Decoder(type_).decode
