import falcon.asgi


def create_app(settings):
    return falcon.asgi.App()
