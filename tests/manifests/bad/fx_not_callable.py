SEND = "send"
