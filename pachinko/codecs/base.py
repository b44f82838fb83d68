"""The codec protocol that `pachinko.codecs` plugins implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

Decode = Callable[[bytes | str], object]


class Codec(Protocol):
    """Turns frames into Python values and back.

    `decoder(type_)` returns a function that decodes a whole frame into `type_`;
    it raises `msgspec.ValidationError` when the frame does not fit the type and
    `msgspec.DecodeError` when the frame is not valid for the codec at all.
    `encode` returns bytes; text codecs (`is_binary = False`) return UTF-8.
    """

    name: ClassVar[str]
    subprotocol: ClassVar[str]
    is_binary: ClassVar[bool]

    def decoder(self, type_: object) -> Decode: ...

    def encode(self, value: object) -> bytes: ...
