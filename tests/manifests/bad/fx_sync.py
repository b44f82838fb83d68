def send(conn, payload):
    return payload
