"""``streamwise serve``: the RAG pipeline over HTTP for web apps (request/reply on the topics).

``POST /v1/ask`` with ``{"text": ..., "customer_id"?, "min_versions"?, "timeout_s"?}``
answers ``200`` with the answer record, ``400`` on a bad request and ``504`` when
no answer arrived within the timeout. ``GET /healthz`` answers ``200``.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.replies import AnswerRouter, AnswerTimeout, InvalidQuestion

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_TIMEOUT_S = 120.0


class BadRequest(ValueError):
    """The request body is not a question we can ask."""


def parse_request(body: bytes) -> dict[str, Any]:
    """Validate an ask request's envelope; return the keyword arguments of ``AnswerRouter.ask``.

    The question itself is validated by ``AnswerRouter.ask`` as ``streamwise ask`` and
    the pipeline validate it, so an empty text gets the same reason everywhere.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"body is not JSON: {exc}"
        raise BadRequest(msg) from exc
    if not isinstance(data, dict):
        msg = "body must be a JSON object"
        raise BadRequest(msg)
    text = data.get("text")  # checked with the rest of the question (``question_event``)
    customer_id = data.get("customer_id")
    if customer_id is not None and not isinstance(customer_id, str):
        msg = f"'customer_id' must be a string, got {customer_id!r:.60}"
        raise BadRequest(msg)
    min_versions = data.get("min_versions")
    if min_versions is not None and not (
        isinstance(min_versions, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in min_versions.values())
    ):
        msg = f"'min_versions' must map doc ids to integer versions, got {min_versions!r:.80}"
        raise BadRequest(msg)
    timeout_s = data.get("timeout_s", 60.0)
    if not isinstance(timeout_s, int | float) or not 0 < timeout_s <= MAX_TIMEOUT_S:
        msg = f"'timeout_s' must be a number in (0, {MAX_TIMEOUT_S:g}], got {timeout_s!r:.20}"
        raise BadRequest(msg)
    return {
        "text": text,
        "customer_id": customer_id,
        "min_versions": min_versions,
        "timeout_s": float(timeout_s),
    }


def make_server(router: AnswerRouter, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering through ``router`` (port 0 picks a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(HTTPStatus.OK, {"status": "ok"})
            elif self.path == "/v1/ask":
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use POST"}, allow="POST")
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path!r}"})

        def do_POST(self) -> None:
            if self.path != "/v1/ask":
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path!r}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            try:
                request = parse_request(self.rfile.read(length))
                answer = router.ask(**request)
            except (BadRequest, InvalidQuestion) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except AnswerTimeout as exc:
                self._send(HTTPStatus.GATEWAY_TIMEOUT, {"error": str(exc)})
            else:
                self._send(HTTPStatus.OK, answer)

        def _send(self, status: HTTPStatus, payload: Any, allow: str | None = None) -> None:
            body = encode_json(payload)
            self.send_response(status)
            if allow is not None:
                self.send_header("Allow", allow)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.info("%s " + format, self.address_string(), *args)

    return ThreadingHTTPServer((host, port), Handler)


def serve(settings: StreamwiseSettings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``POST /v1/ask`` until interrupted."""
    router = AnswerRouter(settings)
    server = make_server(router, host, port)
    bound_host, bound_port = server.server_address[:2]
    print(
        f"streamwise serve: ready, POST http://{bound_host!s}:{bound_port}/v1/ask",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        router.close()
