async def tick(ctx):
    return None
