"""Payload types of the demo chat; msgspec validates every frame against them."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Nick(msgspec.Struct):
    """Set or change the nick shown beside this connection's messages."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class Say(msgspec.Struct):
    """Post a message to the room."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
