async def send(conn, payload):
    return payload
