import msgspec


class Author:
    pass


class Send(msgspec.Struct):
    text: str
    author: Author


async def send(conn, payload):
    return payload
