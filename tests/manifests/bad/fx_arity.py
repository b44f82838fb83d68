async def send(conn):
    return None
