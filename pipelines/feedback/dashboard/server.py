"""``streamwise dashboard``: a live web page over the feedback topics and the Chroma collection.

A background consumer reads ``feedback-insights``, ``feedback-alerts`` and
``feedback-enriched`` from the beginning (its own throwaway group: it never commits,
so every start rebuilds the picture from the topics) into a ``DashboardView``; the page
polls ``/api/summary`` every few seconds and draws it. ``/api/search?q=`` embeds the
query (PII masked first) and asks the feedback collection for its nearest items. No
private copy: the topics and Chroma are the only sources.
"""

from __future__ import annotations

import logging
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from confluent_kafka import Consumer

from pipelines.common import backends
from pipelines.common.clients import client_config, create_registry_topics
from pipelines.common.pii import mask_pii
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.feedback.dashboard.view import TOPICS, DashboardView
from pipelines.feedback.settings import FeedbackSettings
from state.vectors import Hit, VectorCollection, connect_chroma

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
SEARCH_RESULTS = 8


class TopicReader(threading.Thread):
    """Feeds ``view`` from the dashboard topics until ``stop()``."""

    def __init__(self, settings: StreamwiseSettings, view: DashboardView) -> None:
        super().__init__(name="dashboard-reader", daemon=True)
        self._settings, self._view = settings, view
        self._stopping = threading.Event()
        self._consumer = Consumer(
            {
                **client_config(settings),
                "group.id": f"streamwise-dashboard-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )

    def run(self) -> None:
        prefix = self._settings.topic_prefix
        self._consumer.subscribe([prefix + topic for topic in TOPICS])
        try:
            while not self._stopping.is_set():
                message = self._consumer.poll(0.5)
                if message is None or message.error() is not None or message.value() is None:
                    continue
                try:
                    value = orjson.loads(message.value())
                    self._view.add(message.topic()[len(prefix) :], value)
                except (ValueError, KeyError, TypeError) as exc:  # JSON or timestamp
                    logger.warning("dashboard skipped a record of %s: %s", message.topic(), exc)
        finally:
            self._consumer.close()

    def stop(self) -> None:
        self._stopping.set()


class Search:
    """Semantic search over past feedback; the embedder loads on first use.

    With a Chroma server every search asks it directly. Embedded Chroma is written by
    the pipeline's process, and a client keeps the index it loaded, so with ``reopen``
    each search opens the files afresh (a fraction of a second for a feedback-sized
    collection) instead of answering from a stale copy. Reopening resets chromadb's
    process-wide client cache, so only a process of its own (``serve``) may do it.
    """

    def __init__(self, settings: StreamwiseSettings, collection: str, *, reopen: bool) -> None:
        self._settings, self._collection_name = settings, collection
        self._reopen = reopen and settings.chroma_host is None
        self._lock = threading.Lock()

    def _collection(self) -> VectorCollection:
        if not self._reopen:
            return backends.vector_collection(self._settings, self._collection_name)
        from chromadb.api.shared_system_client import SharedSystemClient  # noqa: PLC0415

        SharedSystemClient.clear_system_cache()
        model = backends.embedder(self._settings)
        return VectorCollection.open(
            connect_chroma(self._settings.data_dir),
            self._settings.topic_prefix + self._collection_name,
            embedding_model_id=model.model_id,
            dimension=model.dimension,
        )

    def __call__(self, query: str) -> list[dict[str, Any]]:
        with self._lock:
            vector = backends.embedder(self._settings).embed([mask_pii(query)])[0]
            collection = self._collection()
            if collection.count() == 0:
                return []
            hits = collection.query(vector, k=min(SEARCH_RESULTS, collection.count()))
        return [_hit_json(hit) for hit in hits]


def _hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit as the page shows it, ``key_phrases`` a list as in ``feedback-enriched``.

    Chroma keeps a list in metadata as JSON text (``state.vectors``), so it is decoded
    here rather than handed out as a string.
    """
    metadata: dict[str, Any] = dict(hit.metadata)
    if isinstance(metadata.get("key_phrases"), str):
        metadata["key_phrases"] = orjson.loads(metadata["key_phrases"])
    return {"feedback_id": hit.id, "score": round(hit.score, 3), "text": hit.document, **metadata}


def make_server(
    settings: StreamwiseSettings, host: str, port: int, *, own_process: bool = False
) -> tuple[ThreadingHTTPServer, TopicReader]:
    """The HTTP server and its (not yet started) topic reader; ``serve`` runs both.

    ``own_process``: nothing else in this process uses Chroma (see ``Search``).
    """
    feedback = load_settings(FeedbackSettings)
    view = DashboardView(feedback.window, feedback.window_grace)
    reader = TopicReader(settings, view)
    search = Search(settings, feedback.collection, reopen=own_process)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path in ASSETS:
                name, content_type = ASSETS[url.path]
                self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), content_type)
            elif url.path == "/api/summary":
                self._json(view.summary())
            elif url.path == "/api/search":
                query = parse_qs(url.query).get("q", [""])[0].strip()
                self._json({"query": mask_pii(query), "hits": search(query) if query else []})
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

        def _json(self, payload: dict[str, Any]) -> None:
            self._send(HTTPStatus.OK, orjson.dumps(payload), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("dashboard: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    return server, reader


def serve(settings: StreamwiseSettings, host: str, port: int) -> None:
    """Serve the dashboard on ``host:port`` until interrupted (creating missing topics first)."""
    create_registry_topics(settings)
    server, reader = make_server(settings, host, port, own_process=True)
    reader.start()
    address = f"http://{host}:{server.server_address[1]}/"
    print(f"streamwise dashboard: {address}", flush=True)
    try:
        server.serve_forever()
    finally:
        reader.stop()
        server.server_close()
        reader.join(timeout=5)
