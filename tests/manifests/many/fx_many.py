def sync_handler(conn, payload):
    return payload


async def ok(conn, payload):
    return payload


async def tick(ctx):
    return None
