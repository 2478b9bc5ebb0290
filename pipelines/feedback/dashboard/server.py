"""``streamwise dashboard``: a live web page over the feedback topics and the Chroma collection.

A background consumer (``feed``) reads ``feedback-insights``, ``feedback-alerts`` and
``feedback-enriched`` from the beginning into a ``DashboardView``; the page polls
``/api/summary`` every few seconds and draws it. ``/api/search?q=`` embeds the query
(PII masked first) and asks the feedback collection for its nearest items (``search``).
No private copy: the topics and Chroma are the only sources. With
``STREAMWISE_AUTH_TOKENS_FILE`` set, ``/api/*`` answers only staff tokens (``401``
without one, ``403`` for a customer's); the page itself holds no data and stays open.
A Starlette app on uvicorn (``common.http``); nothing it answers may be cached, the
figures move.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.common import http
from pipelines.common.access import DASHBOARD_ACCESS
from pipelines.common.auth import Principal, bearer_middleware, load_tokens, staff_only
from pipelines.common.clients import create_registry_topics
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.common.text.pii import mask_pii
from pipelines.feedback.dashboard.feed import TopicReader
from pipelines.feedback.dashboard.search import Search
from pipelines.feedback.dashboard.view import DashboardView
from pipelines.feedback.settings import FeedbackSettings

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
NO_STORE = {"Cache-Control": "no-store"}


def _asset(path: str, name: str, content_type: str) -> Route:
    def asset(request: Request) -> FileResponse:
        return FileResponse(STATIC / name, media_type=content_type, headers=NO_STORE)

    return Route(path, asset)


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json", headers=NO_STORE)


def make_app(
    settings: StreamwiseSettings, principals: Mapping[str, Principal] | None = None
) -> tuple[Starlette, TopicReader]:
    """The ASGI app and its (not yet started) topic reader; ``serve`` runs both.

    ``principals`` (from the tokens file): the API answers only staff; None: anyone.
    """
    feedback = load_settings(FeedbackSettings)
    view = DashboardView(feedback.window, feedback.window_grace)
    reader = TopicReader(settings, view)
    search = Search(settings, feedback.collection)

    def refused(request: Request) -> Response | None:
        return None if principals is None else staff_only(request)

    def summary(request: Request) -> Response:
        shown = {**view.summary(), "broker_reachable": not reader.outage.ongoing}
        return refused(request) or _json(shown)

    def find(request: Request) -> Response:  # sync: embedding runs on a worker thread
        if (refusal := refused(request)) is not None:
            return refusal
        query = request.query_params.get("q", "").strip()
        return _json({"query": mask_pii(query), "hits": search(query) if query else []})

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404, headers=NO_STORE)

    routes = [_asset(path, name, content_type) for path, (name, content_type) in ASSETS.items()]
    routes += [Route("/api/summary", summary), Route("/api/search", find)]
    middleware = [] if principals is None else [bearer_middleware(principals)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    return app, reader


def serve(settings: StreamwiseSettings, host: str, port: int) -> None:
    """Serve the dashboard on ``host:port`` until interrupted (creating missing topics first)."""
    create_registry_topics(settings, DASHBOARD_ACCESS.topics)
    tokens = settings.auth_tokens_file
    app, reader = make_app(settings, load_tokens(tokens) if tokens is not None else None)
    sock = http.bind(host, port, "the dashboard")
    reader.start()
    scheme = "https" if settings.http_tls else "http"
    print(f"streamwise dashboard: {scheme}://{host}:{http.port_of(sock)}/", flush=True)
    try:
        http.run(app, sock, settings.http_tls)
    finally:
        reader.stop()
        reader.join(timeout=5)
