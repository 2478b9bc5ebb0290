"""A stand-in for Ollama's chat API, for fault injection only: what a real server won't do.

Every test that proves a feature talks to the real Ollama (``tests/models/real_ollama.py``).
This server answers ``POST /api/chat`` (non-streaming) with a handler that injects a
fault the real one cannot be made to produce on demand: garbage or schema-breaking
model output, error statuses, a proxy's HTML, silence. ``forward_to`` relays to the real
server, so a fault can come before a real answer or only for some inputs, and
``calls`` records what the adapter sent on its way there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from models.llm import JsonObject


@dataclass(frozen=True)
class Reply:
    """An HTTP status and body to send back: a JSON object, or text sent verbatim."""

    status: int
    body: JsonObject | str


@dataclass(frozen=True)
class ChatCall:
    """One received ``/api/chat`` request; ``closing`` is set when the server stops."""

    body: JsonObject
    closing: threading.Event


Handler = Callable[[ChatCall], Reply]


def chat_reply(model: str, content: str) -> Reply:
    """A successful, non-streamed chat answer shaped like Ollama's."""
    return Reply(
        200,
        {
            "model": model,
            "created_at": datetime.now(UTC).isoformat(),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "stop",
        },
    )


def forward_to(host: str, *, timeout_s: float = 120.0) -> Handler:
    """Relay the request to the real Ollama at ``host``; its answer goes back as it came."""

    def handle(call: ChatCall) -> Reply:
        answer = httpx.post(f"{host}/api/chat", json=call.body, timeout=timeout_s)
        return Reply(answer.status_code, answer.text)

    return handle


def constant(reply: Reply) -> Handler:
    """Answer every request with ``reply``."""
    return lambda call: reply


def in_sequence(*handlers: Handler) -> Handler:
    """Use the handlers in turn, one per request; the last one answers the rest."""
    queue = list(handlers)
    lock = threading.Lock()

    def handle(call: ChatCall) -> Reply:
        with lock:
            handler = queue.pop(0) if len(queue) > 1 else queue[0]
        return handler(call)

    return handle


def never_answers(call: ChatCall) -> Reply:
    """Hold the request open until the server shuts down (the client times out first)."""
    call.closing.wait()
    return Reply(503, {"error": "server shutting down"})


class FaultyOllama:
    """Serves ``handler`` on ``127.0.0.1`` at a free port, in a background thread.

    Use as a context manager; ``host`` is the URL to give ``OllamaChat`` and ``calls``
    records every request body received.
    """

    def __init__(self, handler: Handler) -> None:
        self.calls: list[JsonObject] = []
        self._handler = handler
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FaultyOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _handle(self, body: JsonObject) -> Reply:
        self.calls.append(body)
        return self._handler(ChatCall(body=body, closing=self._closing))

    def _request_handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/api/chat":
                    self._send(Reply(404, {"error": f"unsupported path {self.path}"}))
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if body.get("stream", True):
                    self._send(Reply(400, {"error": "this server does not stream"}))
                    return
                self._send(server._handle(body))

            def _send(self, reply: Reply) -> None:
                text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                payload = text.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: pytest shows failures, not access logs."""

        return RequestHandler
