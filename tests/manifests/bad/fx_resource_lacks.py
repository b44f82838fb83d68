from pachinko.runtime.resource import WebSocketResource


class Room(WebSocketResource):
    async def on_ping(self, conn, payload):
        return None
