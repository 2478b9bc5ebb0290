"""A local HTTP server that speaks the part of Ollama's API that ``OllamaChat`` uses.

``POST /api/chat`` (non-streaming) is answered by a handler: either a real model
(``answer_with``), so ``OllamaChat`` meets real model output, or a fault (garbage,
error statuses, silence) to check how the adapter classifies it. No Ollama install needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from models.errors import ModelOutputInvalid
from models.llm import ChatModel, JsonObject


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

SERVED_MODEL = "smollm2"
"""The name the tests serve the real SmolLM2 under."""


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


def answer_with(chat_model: ChatModel, served_name: str) -> Handler:
    """Serve ``chat_model`` under ``served_name``; other names get Ollama's 404."""

    def handle(call: ChatCall) -> Reply:
        name = call.body["model"]
        if name != served_name:
            return Reply(404, {"error": f"model '{name}' not found"})
        messages = {m["role"]: m["content"] for m in call.body["messages"]}
        try:
            answer = chat_model.complete_json(
                messages["system"], messages["user"], call.body["format"]
            )
            content = json.dumps(answer)
        except ModelOutputInvalid as exc:  # Ollama relays whatever the model wrote
            content = exc.raw
        return chat_reply(name, content)

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


class OllamaServer:
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

    def __enter__(self) -> OllamaServer:
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
