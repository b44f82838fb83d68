"""A module that exists but imports a missing dependency."""

import fx_absent_dependency  # noqa: F401


async def send(conn, payload):
    return payload
