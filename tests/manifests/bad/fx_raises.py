"""A module that fails while it is imported."""

RATIO = 1 / 0


async def send(conn, payload):
    return payload
