from pachinko.runtime.resource import WebSocketResource


class Room(WebSocketResource):
    async def on_send(self, conn, payload):
        return payload


async def send(conn, payload):
    return payload
