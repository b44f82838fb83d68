class Room:
    async def on_send(self, conn, payload):
        return payload
