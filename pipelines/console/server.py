"""``streamwise dashboard``: the operations console, three live pages over the topics.

* **Fraud**: the triaged alerts as a queue with their verdicts, "fraud"/"legitimate"
  buttons that ``POST /api/fraud/verdicts`` (published to ``fraud-verdicts``), and each
  rule's precision over time from ``fraud-quality`` (``fraud_view``).
* **Feedback**: insights, alerts, latest items and semantic search (``feedback_view``,
  ``search``), the classifier's current version and measured accuracy from
  ``feedback-classifier``, and correct-this-label controls that
  ``POST /api/feedback/labels`` (published to ``feedback-labels``; ``classifier_view``).
* **Knowledge**: answer KPIs and low-rated documents from ``answer-kpis``, and the
  versions published on ``kb-changes`` against the ``index_version`` answers report
  (``knowledge_view`` says what that comparison means).

A background consumer (``feed``) reads every topic of ``DASHBOARD_ACCESS`` from the
beginning into the pure views; each page polls its ``GET /api/...`` every few seconds.
No private copy: the topics and Chroma are the only sources, and a verdict or label
shows on the page once it is read back from its topic. With
``STREAMWISE_AUTH_TOKENS_FILE`` set, every ``/api/*`` route, POSTs included, answers
only staff tokens (``401`` without one, ``403`` for a customer's) and the token's name
is the verdict's analyst or the label's labeller; without it the CLI listens on
loopback only, and POSTs from any other address are refused (``403``) all the same.
A bad POST body is ``400`` with one sentence and nothing is produced (``415`` unless it
is sent as JSON); ``503`` while the broker is unreachable. The pages themselves hold no
data and stay open. A Starlette app on uvicorn (``common.http``); nothing it answers may
be cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipelines.common import http
from pipelines.common.access import DASHBOARD_ACCESS
from pipelines.common.auth import Principal, bearer_middleware, is_loopback, load_tokens, staff_only
from pipelines.common.clients import create_registry_topics
from pipelines.common.events import Event
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.common.text.pii import mask_pii
from pipelines.console.actions import (
    BadAction,
    BrokerUnavailable,
    Publisher,
    label_event,
    verdict_event,
)
from pipelines.console.classifier_view import ClassifierView
from pipelines.console.feed import TopicReader
from pipelines.console.feedback_view import DashboardView
from pipelines.console.fraud_view import FraudView
from pipelines.console.knowledge_view import KnowledgeView
from pipelines.console.search import Search
from pipelines.console.settings import ConsoleFeedbackSettings

STATIC = Path(__file__).with_name("static")
_JS, _CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/console.js": ("console.js", _JS),
    "/static/fraud.js": ("fraud.js", _JS),
    "/static/feedback.js": ("feedback.js", _JS),
    "/static/knowledge.js": ("knowledge.js", _JS),
    "/static/style.css": ("style.css", _CSS),
}
NO_STORE = {"Cache-Control": "no-store"}
JSON_TYPE = "application/json"
"""The only body type a POST takes: a cross-site form cannot send it without a CORS
preflight, which the console never grants, so another web page open in an analyst's
browser cannot publish verdicts through the loopback console."""
MAX_BODY_BYTES = 16 * 1024
"""A verdict or a label is a few hundred bytes; a note longer than this is not a note."""


def _asset(path: str, name: str, content_type: str) -> Route:
    def asset(request: Request) -> FileResponse:
        return FileResponse(STATIC / name, media_type=content_type, headers=NO_STORE)

    return Route(path, asset)


def _json(payload: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code, NO_STORE, media_type="application/json")


class Views:
    """Every view the reader feeds, in one place for the routes."""

    def __init__(self, feedback: ConsoleFeedbackSettings) -> None:
        self.feedback = DashboardView(feedback.window, feedback.window_grace)
        self.classifier = ClassifierView()
        self.fraud = FraudView()
        self.knowledge = KnowledgeView()

    def all(self) -> tuple[DashboardView, ClassifierView, FraudView, KnowledgeView]:
        return self.feedback, self.classifier, self.fraud, self.knowledge


def make_app(
    settings: StreamwiseSettings, principals: Mapping[str, Principal] | None = None
) -> tuple[Starlette, TopicReader]:
    """The ASGI app and its (not yet started) topic reader; ``serve`` runs both.

    ``principals`` (from the tokens file): the API answers only staff; None: anyone on
    reads, loopback callers on POSTs.
    """
    feedback = load_settings(ConsoleFeedbackSettings)
    views = Views(feedback)
    reader = TopicReader(settings, views.all())
    search = Search(settings, feedback.collection)
    publisher = Publisher(settings)

    def refused(request: Request) -> Response | None:
        return None if principals is None else staff_only(request)

    def stale() -> dict[str, bool]:
        return {"broker_reachable": not reader.outage.ongoing}

    def summary(request: Request) -> Response:
        shown = {**views.feedback.summary(), "classifier": views.classifier.summary(), **stale()}
        return refused(request) or _json(shown)

    def fraud(request: Request) -> Response:
        return refused(request) or _json({**views.fraud.summary(), **stale()})

    def knowledge(request: Request) -> Response:
        return refused(request) or _json({**views.knowledge.summary(), **stale()})

    def find(request: Request) -> Response:  # sync: embedding runs on a worker thread
        if (refusal := refused(request)) is not None:
            return refusal
        query = request.query_params.get("q", "").strip()
        return _json({"query": mask_pii(query), "hits": search(query) if query else []})

    def action(
        topic: str, parse: Callable[[bytes, str | None], Event], key: str
    ) -> Callable[[Request], object]:
        """A POST route: who may act, the body as an event, published under its ``key``."""

        async def post(request: Request) -> Response:
            if (refusal := refused(request)) is not None:
                return refusal
            host = request.client.host if request.client else ""
            if principals is None and not is_loopback(host):
                return _json({"error": "without a tokens file only this machine may act"}, 403)
            if request.headers.get("content-type", "").split(";")[0].strip() != JSON_TYPE:
                return _json({"error": f"send the body as {JSON_TYPE}"}, 415)
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return _json({"error": f"body over {MAX_BODY_BYTES} bytes"}, 413)
            who = request.user.name if isinstance(request.scope.get("user"), Principal) else None
            try:
                event = parse(body, who)
                await run_in_threadpool(publisher.publish, topic, getattr(event, key), event)
            except BadAction as exc:
                return _json({"error": str(exc)}, 400)
            except BrokerUnavailable as exc:
                return _json({"error": str(exc)}, 503)
            return _json(event.to_json_dict(), 202)

        return post

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404, headers=NO_STORE)

    routes = [_asset(path, name, content_type) for path, (name, content_type) in ASSETS.items()]
    routes += [
        Route("/api/summary", summary),
        Route("/api/search", find),
        Route("/api/fraud", fraud),
        Route("/api/knowledge", knowledge),
        Route("/api/fraud/verdicts", action("fraud-verdicts", verdict_event, "alert_id"),
              methods=["POST"]),
        Route("/api/feedback/labels", action("feedback-labels", label_event, "feedback_id"),
              methods=["POST"]),
    ]  # fmt: skip
    middleware = [] if principals is None else [bearer_middleware(principals)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    return app, reader


def serve(settings: StreamwiseSettings, host: str, port: int) -> None:
    """Serve the console on ``host:port`` until interrupted (creating missing topics first)."""
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
