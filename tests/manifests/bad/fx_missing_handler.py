import msgspec


class Send(msgspec.Struct):
    text: str
