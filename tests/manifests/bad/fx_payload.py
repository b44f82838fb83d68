class Send:
    def __init__(self, text):
        self.text = text


async def send(conn, payload):
    return payload
