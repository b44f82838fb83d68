"""The HTTP side of the demo: a Falcon app serving the chat page at `/`."""

from __future__ import annotations

from pathlib import Path

import falcon
import falcon.asgi

PAGE = (Path(__file__).parent / "static" / "index.html").read_text(encoding="utf-8")


class Page:
    """The single-page chat client."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE


def create_app() -> falcon.asgi.App:
    """Build the HTTP app; pachinko adds the WebSocket routes to it."""
    app = falcon.asgi.App()
    app.add_route("/", Page())
    return app
