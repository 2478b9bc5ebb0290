"""``streamwise serve``: the RAG pipeline over HTTP for web apps (request/reply on the topics).

``POST /v1/ask`` with ``{"text": ..., "customer_id"?, "min_versions"?, "timeout_s"?}``
answers ``200`` with the answer record, ``400`` on a bad request, ``413`` for a body
over 64 KiB, ``503`` (with ``Retry-After``) while the broker is unreachable and ``504``
when no answer arrived within the timeout. ``POST /v1/answers/{question_id}/rating``
with ``{"rating": "up"|"down", "comment"?}`` publishes the rating to ``answer-ratings`` and
answers ``202`` with it; ``404`` for a question this process did not answer (``ratings``
says why and the limit), ``400`` for a bad body. Errors are
``{"error": reason}``, except a ``Content-Length`` over the limit, which Starlette's
body limit answers itself (``Content Too Large``, plain text; a longer chunked body
gets ours). ``GET /healthz`` answers ``200``, or ``503`` while the broker is unreachable.

With ``STREAMWISE_AUTH_TOKENS_FILE`` set (``common.auth``) every ask needs
``Authorization: Bearer <token>``: none, a malformed header or an unknown token gets
``401``; a ``customer:`` token asking for another customer gets ``403`` and nothing is
published to ``questions``. A rating takes the scope of the answer's question: staff
rate any, a ``customer:`` token only answers for its customer (``403`` otherwise, and
nothing is published to ``answer-ratings``). Each ask and rating leaves one audit line
at INFO (token name, scope, customer asked for, status, latency; never the token, the
question or the comment). A FastAPI app on uvicorn
(``common.http``): ``GET /openapi.json`` describes the API, and the documentation
pages stay off because they load their scripts from a CDN (users are offline).
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.authentication import AuthenticationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from pipelines.common import http
from pipelines.common.auth import BearerTokens, Principal, load_tokens, unauthorized
from pipelines.common.events import Answer, AnswerRating
from pipelines.common.rate import RateLimiter
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.ratings import (
    RATING_REQUEST,
    Asked,
    BadRating,
    RecentAnswers,
    parse_rating,
)
from pipelines.knowledge.replies import (
    AnswerRouter,
    AnswerTimeout,
    BrokerUnavailable,
    InvalidQuestion,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_TIMEOUT_S = 120.0
BROKER_RETRY_AFTER_S = 10
"""What a 503 for an unreachable broker tells the caller to wait (librdkafka's reconnect
backoff tops out at 10 s)."""
ASK_REQUEST = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "customer_id": {"type": "string", "description": "answer for this customer"},
        "min_versions": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "answer only from an index with at least these document versions",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_TIMEOUT_S,
            "default": 60.0,
        },
    },
}
"""The request body in ``/openapi.json``; ``parse_request`` does the checking."""


class BadRequest(ValueError):
    """The request body is not a question we can ask."""


class Error(BaseModel):
    """Every error's body (documented in ``/openapi.json``)."""

    error: str


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object ``body`` holds; ``BadRequest`` if it is not one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"body is not JSON: {exc}"
        raise BadRequest(msg) from exc
    if not isinstance(data, dict):
        msg = "body must be a JSON object"
        raise BadRequest(msg)
    return data


def _documented(body_schema: dict[str, Any], answers: dict[int, Any]) -> dict[str, Any]:
    """A route's ``/openapi.json`` entries: its JSON body, its answers and those all share."""
    shared = {
        401: {"model": Error, "description": "No or an unknown bearer token (tokens file set)."},
        429: {"model": Error, "description": "Over STREAMWISE_SERVE_RATE calls per minute."},
        413: {"model": Error, "description": f"Body over {MAX_BODY_BYTES} bytes."},
        503: {"model": Error, "description": "The broker is unreachable; see Retry-After."},
    }
    return {
        "response_class": Response,
        "responses": {**answers, **shared},
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_schema}},
            }
        },
    }


def parse_request(body: bytes) -> dict[str, Any]:
    """Validate an ask request's envelope; return the keyword arguments of ``AnswerRouter.ask``.

    The question itself is validated by ``AnswerRouter.ask`` as ``streamwise ask`` and
    the pipeline validate it, so an empty text gets the same reason everywhere.
    """
    data = json_object(body)
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


def _json(
    payload: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(encode_json(payload), status_code, headers, media_type="application/json")


def _unavailable(exc: BrokerUnavailable) -> Response:
    """``503`` while the broker cannot take what was asked, with when to retry."""
    return _json({"error": str(exc)}, 503, {"Retry-After": str(BROKER_RETRY_AFTER_S)})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors and the body limit (raised by Starlette) in our ``{"error": ...}`` form."""
    assert isinstance(exc, HTTPException)
    reason = {
        404: f"no route {request.url.path!r}",
        405: f"use {(exc.headers or {}).get('Allow', 'another method')}",
        413: "body too large",
    }.get(exc.status_code, exc.detail)
    return _json({"error": reason}, exc.status_code, exc.headers)


def _unauthorized(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    logger.info("ask", extra={"token": None, "status": 401, "reason": str(exc)})
    return unauthorized(str(exc))


def _authenticated(
    request: Request, principals: Mapping[str, Principal] | None
) -> tuple[Principal | None, Response | None]:
    """Who calls, or the ``401`` refusing them (``None`` tokens: no checks, no one)."""
    if principals is None:
        return None, None
    user = request.user
    if not isinstance(user, Principal):
        return None, unauthorized("a bearer token is required")
    return user, None


def _authorized(
    request: Request, customer_id: str | None, principals: Mapping[str, Principal] | None
) -> tuple[Principal | None, Response | None]:
    """Who asks, or the ``401``/``403`` refusing them (``None`` tokens: no checks)."""
    user, refused = _authenticated(request, principals)
    if user is None or refused is not None:
        return user, refused
    if not user.may_ask_for(customer_id):
        return user, _json({"error": f"token {user.name!r} may not ask for another customer"}, 403)
    return user, None


def _over_rate(request: Request, rate: RateLimiter | None) -> Response | None:
    """``429`` once the caller (its token, else its address) is past the rate."""
    if rate is None:
        return None
    user = request.scope.get("user")
    caller = user.name if isinstance(user, Principal) else (request.client or ("?",))[0]
    wait_s = rate.retry_after(caller)
    if wait_s is None:
        return None
    return _json({"error": f"over the rate of asks; retry in {wait_s} s"}, 429,
                 {"Retry-After": str(wait_s)})  # fmt: skip


def _audit(
    what: str,
    principal: Principal | None,
    customer_id: str | None,
    response: Response | None,
    started: float,
) -> None:
    """One line per call: who, for whom, how it ended; never the token, question or comment."""
    logger.info(what, extra={
        "token": principal.name if principal else None,
        "scope": principal.scope if principal else None,
        "customer_id": customer_id,
        "status": response.status_code if response is not None else 500,
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
    })  # fmt: skip


def _rating_route(
    api: FastAPI,
    router: AnswerRouter,
    recent: RecentAnswers,
    principals: Mapping[str, Principal] | None,
    rate: RateLimiter | None,
) -> None:
    """``POST /v1/answers/{question_id}/rating`` on ``api``, for the answers in ``recent``."""

    @api.post(
        "/v1/answers/{question_id}/rating",
        status_code=202,
        **_documented(RATING_REQUEST, {
            202: {"model": AnswerRating, "description": "The rating, as on 'answer-ratings'."},
            400: {"model": Error, "description": "Not a rating."},
            403: {"model": Error, "description": "A customer token rating another's answer."},
            404: {"model": Error, "description": "No answer of this process has this id."},
        }),
    )  # fmt: skip
    async def rate_answer(question_id: str, request: Request) -> Response:
        started = time.monotonic()
        principal, response, customer_id = None, None, None
        try:
            response = _over_rate(request, rate)
            if response is None:
                principal, response = _authenticated(request, principals)
            if response is not None:
                return response
            rating = parse_rating(question_id, json_object(await request.body()))
            asked = recent.asked(question_id)
            if asked is None:
                return (response := _json({"error": f"no answer {question_id!r} to rate"}, 404))
            customer_id = asked.customer_id
            if asked.may_be_rated_by(principal):
                await run_in_threadpool(router.rate, rating)
                response = _json(rating, 202)
            else:
                assert principal is not None  # anyone may rate without a tokens file
                reason = f"token {principal.name!r} may not rate another customer's answer"
                response = _json({"error": reason}, 403)
        except (BadRequest, BadRating) as exc:
            response = _json({"error": str(exc)}, 400)
        except BrokerUnavailable as exc:
            response = _unavailable(exc)
        finally:
            _audit("rate", principal, customer_id, response, started)
        return response


def make_app(
    router: AnswerRouter,
    principals: Mapping[str, Principal] | None = None,
    rate: RateLimiter | None = None,
) -> FastAPI:
    """The ASGI app answering through ``router``; ``serve`` runs it, tests may too.

    ``principals`` (from the tokens file): who may ask, and for whom; None lets anyone.
    ``rate``: asks and ratings per minute per token (or address); None: no limit.
    """
    recent = RecentAnswers()
    middleware = (
        []
        if principals is None
        else [
            Middleware(
                AuthenticationMiddleware, backend=BearerTokens(principals), on_error=_unauthorized
            )
        ]
    )
    api = FastAPI(
        middleware=middleware,
        title="streamwise serve",
        summary="Ask the knowledge base; answers cite the documents and versions they used.",
        version=importlib.metadata.version("streamwise"),
        docs_url=None,
        redoc_url=None,
        max_body_size=MAX_BODY_BYTES,
        exception_handlers={HTTPException: _http_error},
    )

    @api.post(
        "/v1/ask",
        **_documented(ASK_REQUEST, {
            200: {"model": Answer, "description": "The answer record, as on 'answers'."},
            400: {"model": Error, "description": "Not a question the pipeline can take."},
            403: {"model": Error, "description": "A customer token asking for another customer."},
            504: {"model": Error, "description": "No answer within 'timeout_s'."},
        }),
    )  # fmt: skip
    async def ask(request: Request) -> Response:
        started = time.monotonic()
        principal, response, customer_id = None, None, None
        try:
            response = _over_rate(request, rate)
            if response is not None:
                return response
            question = parse_request(await request.body())
            customer_id = question["customer_id"]
            principal, response = _authorized(request, customer_id, principals)
            if response is None:
                answer = await run_in_threadpool(router.ask, **question)  # waits for it
                recent.remember(answer.question_id, Asked.by(customer_id, principal))
                response = _json(answer)
        except (BadRequest, InvalidQuestion) as exc:
            response = _json({"error": str(exc)}, 400)
        except AnswerTimeout as exc:
            response = _json({"error": str(exc)}, 504)
        except BrokerUnavailable as exc:
            response = _unavailable(exc)
        finally:
            _audit("ask", principal, customer_id, response, started)
        return response

    _rating_route(api, router, recent, principals, rate)

    @api.get("/healthz")
    async def healthz() -> Response:
        if router.outage.ongoing:  # a load balancer takes this replica out meanwhile
            return _json({"status": "broker unreachable"}, 503)
        return _json({"status": "ok"})

    return api


def serve(settings: StreamwiseSettings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``POST /v1/ask`` until interrupted."""
    tokens = settings.auth_tokens_file
    principals = load_tokens(tokens) if tokens is not None else None
    router = AnswerRouter(settings)
    try:
        sock = http.bind(host, port, "POST /v1/ask")
        bound_host, bound_port = sock.getsockname()[:2]
        scheme = "https" if settings.http_tls else "http"
        print(
            f"streamwise serve: ready, POST {scheme}://{bound_host!s}:{bound_port}/v1/ask",
            file=sys.stderr,
            flush=True,
        )
        app = make_app(router, principals, RateLimiter(settings.serve_rate))
        http.run(app, sock, settings.http_tls)
    finally:
        router.close()
