"""The routing table: one "file:line" rule, and one rule for counting message types."""

from __future__ import annotations

from pachinko.loader import plan
from pachinko.loader.table import routing_table
from pachinko.manifest import load

DECORATOR = """
import functools


def logged(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        return await func(*args, **kwargs)
    return wrapper
"""

RESOURCE = """
from pachinko.runtime.resource import WebSocketResource, handles_message
from {decorators} import logged


async def send(conn, payload):
    return payload


class Room(WebSocketResource):
    @handles_message("wave")
    @logged
    async def wave(self, conn, payload):
        return payload

    @logged
    async def on_ping(self, conn, payload):
        return payload
"""


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_decorated_resource_methods_are_located_at_their_own_definition(project) -> None:
    """File and line both name the user's method (its first decorator, as tracebacks do)."""
    decorators = project.module(DECORATOR)
    source = RESOURCE.format(decorators=decorators)
    mod = project.module(source)
    path = project.manifest(f"""
        [[routes]]
        path = "/room"
        resource = "{mod}:Room"

        [routes.messages.ping]
    """)
    rows = {row.type: row for row in routing_table(plan(load(path)))}
    assert rows["ping"].source == f"{mod}.py:{_line(source, 'async def on_ping') - 1}"
    assert rows["wave"].source == f"{mod}.py:{_line(source, 'async def wave') - 2}"


def test_resource_own_handlers_are_rows_beside_the_declared_ones(project) -> None:
    mod = project.module(RESOURCE.format(decorators=project.module(DECORATOR)))
    path = project.manifest(f"""
        [[routes]]
        path = "/room"
        resource = "{mod}:Room"

        [routes.messages.send]
        handler = "{mod}:send"
        summary = "Send it"
    """)
    rows = routing_table(plan(load(path)))
    assert [(row.type, row.summary) for row in rows] == [
        ("send", "Send it"),
        ("ping", ""),
        ("wave", ""),
    ]
