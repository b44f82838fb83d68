"""Handlers, a resource and payload types for the contract tests (every payload shape)."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Literal

import falcon.asgi
import msgspec

from pachinko import WebSocketResource, handles_message


class Mood(enum.Enum):
    HAPPY = "happy"
    GRUMPY = "grumpy"


class Attachment(msgspec.Struct):
    """A file shared in a message."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    size: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    checksum: bytes | None = None


class Send(msgspec.Struct, forbid_unknown_fields=True):
    """Post a message."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"\S")]
    mood: Mood = Mood.HAPPY
    attachments: list[Attachment] = []
    reply_to: uuid.UUID | None = None
    at: datetime.datetime | None = None
    position: tuple[float, float] | None = None
    tags: frozenset[str] = frozenset()
    scores: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = {}
    extra: dict[str, object] = {}


class Circle(msgspec.Struct, tag="circle"):
    radius: Annotated[float, msgspec.Meta(gt=0)]


class Square(msgspec.Struct, tag="square"):
    side: Annotated[float, msgspec.Meta(gt=0)]


Shape = Circle | Square


class Sent(msgspec.Struct):
    """What `send` replies."""

    id: int
    status: Literal["stored", "queued"]


class Tree(msgspec.Struct):
    """A recursive type."""

    label: str
    children: list[Tree] = []


async def send(conn: object, payload: Send) -> Sent:
    return Sent(1, "stored")


async def draw(conn: object, payload: Shape) -> None:
    return None


async def count(conn: object, payload: Annotated[int, msgspec.Meta(ge=0)]) -> int:
    return payload


async def anything(conn: object, payload: object) -> object:
    return payload


async def tree(conn: object, payload: Tree | None) -> Tree | None:
    return payload


class Room(WebSocketResource):
    """A resource with its own handlers: one declared, one by convention."""

    @handles_message("room.topic")
    async def topic(
        self, conn: object, payload: Annotated[str, msgspec.Meta(max_length=80)]
    ) -> str:
        return payload

    async def on_kick(self, conn: object, payload: Literal["spam", "abuse"]) -> None:
        return None

    async def on_ping(self, conn: object, payload: object) -> dict[str, float]:
        return {"at": 0.0}


async def hook(conn: object, event: object) -> None:
    return None


async def worker(ctx: object, limit: int = 1) -> None:
    return None


def create_app() -> falcon.asgi.App:
    return falcon.asgi.App()
