"""Wire codecs: the `Codec` protocol and the built-in `json` and `msgpack` codecs."""

from __future__ import annotations

from pachinko.codecs.base import Codec
from pachinko.codecs.builtin import JsonCodec, MsgpackCodec

__all__ = ["Codec", "JsonCodec", "MsgpackCodec"]
