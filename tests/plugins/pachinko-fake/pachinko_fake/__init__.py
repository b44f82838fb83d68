"""A fake third-party pachinko plugin distribution, for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import msgspec


class FakeConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`[plugins.fake]`: a required `level` and an optional `greeting`."""

    level: int
    greeting: str = "hi"


class FakeExtension:
    """A lifecycle extension that does nothing."""

    config: ClassVar[type] = FakeConfig

    def __init__(self, config: FakeConfig) -> None:
        self.settings = config


class FakeJsonCodec:
    """JSON in text frames, offered as subprotocol `pachinko.fakejson`."""

    name: ClassVar[str] = "fakejson"
    subprotocol: ClassVar[str] = "pachinko.fakejson"
    is_binary: ClassVar[bool] = False

    def __init__(self) -> None:
        self.encode: Callable[[object], bytes] = msgspec.json.Encoder().encode

    def decoder(self, type_: object) -> Callable[[bytes | str], object]:
        return msgspec.json.Decoder(type_).decode


class FakeBackendConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`[backend] use = "fake"`: a `url`."""

    url: str = "fake://"


class FakeBackend:
    """A backend with a config; it does not work at runtime."""

    config: ClassVar[type] = FakeBackendConfig

    def __init__(self, config: FakeBackendConfig | None = None) -> None:
        self.settings = config or FakeBackendConfig()
