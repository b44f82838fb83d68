from pachinko.runtime.resource import WebSocketResource


class RoomV2(WebSocketResource):
    async def on_ping(self, conn, payload):
        return None
