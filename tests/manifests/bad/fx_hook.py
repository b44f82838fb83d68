async def check_token(conn):
    return None


async def send(conn, payload):
    return payload
