async def tick(ctx, room):
    return None
