def poll(ctx):
    return None
