from pachinko.runtime.resource import WebSocketResource, handles_message


class RoomV1(WebSocketResource):
    subprotocols = ("chat.v1",)

    @handles_message("send")
    async def send(self, conn, payload):
        return None


class RoomV2(WebSocketResource):
    async def on_ping(self, conn, payload):
        return None
