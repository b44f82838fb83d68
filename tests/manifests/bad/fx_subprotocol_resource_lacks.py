from pachinko.runtime.resource import WebSocketResource


class Room(WebSocketResource):
    async def on_send(self, conn, payload):
        return None


class RoomV2(WebSocketResource):
    async def on_ping(self, conn, payload):
        return None
