"""Request/reply for applications, against ``streamwise run knowledge`` and ``run rag`` processes.

The pipelines run as real processes on embedded Chroma (the sync writes it, the
RAG pipeline reads it from another process), as a user runs them; the test is
the application: it edits a document and asks, through ``ask`` and over HTTP.
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from pipelines.common.auth import new_token, parse_tokens
from pipelines.common.http import serving
from pipelines.common.rate import RateLimiter
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker.security import make_tls
from pipelines.knowledge.ask import ask, format_answer
from pipelines.knowledge.replies import AnswerRouter
from pipelines.knowledge.serve import MAX_BODY_BYTES, make_app
from tests.kafkaio import produce, read
from tests.knowledge.conftest import change
from tests.processes import create_topics

STREAMWISE = Path(sys.executable).with_name("streamwise")
WARRANTY = "Electronics carry a {years}-year warranty. Keep the receipt as proof of purchase."


@dataclass(frozen=True)
class Started:
    """A pipeline process this module started, and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        state = "running" if self.process.poll() is None else f"exit {self.process.returncode}"
        lines = self.log.read_text(errors="replace").splitlines()[-40:]
        return "\n".join([f"--- streamwise run {self.name} ({state}) ---", *lines])


@pytest.fixture(scope="module")
def started(module_settings: StreamwiseSettings) -> Iterator[list[Started]]:
    settings = module_settings
    create_topics(settings)
    env = {**os.environ, "STREAMWISE_BROKER": settings.broker or "",
           "STREAMWISE_DATA_DIR": str(settings.data_dir),
           "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
           "STREAMWISE_PARTITIONS": str(settings.partitions),
           # The first question can arrive while the sync still loads its model (a cold
           # CI machine takes well over the default 10 s); let it wait for v1 instead.
           "KNOWLEDGE_MAX_WAIT_S": "120",
           "STREAMWISE_LOG_LEVEL": "INFO"}  # fmt: skip
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pipelines = []
    for name in ("knowledge", "rag"):
        log_path = settings.data_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen([STREAMWISE, "run", name], env=env,
                                       stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        pipelines.append(Started(name, process, log_path))
    try:
        yield pipelines
    finally:
        for pipeline in pipelines:
            pipeline.process.send_signal(signal.SIGTERM)
        for pipeline in pipelines:
            try:
                pipeline.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pipeline.process.kill()
                pipeline.process.wait()


@pytest.fixture(autouse=True)
def _pipeline_logs_when_failed(
    request: pytest.FixtureRequest, started: list[Started]
) -> Iterator[None]:
    """A failed test shows what the pipelines printed: the only witness of why no answer came."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(*(pipeline.tail() for pipeline in started), sep="\n")


@pytest.fixture(scope="module")
def running(module_settings: StreamwiseSettings, started: list[Started]) -> StreamwiseSettings:
    first = change("warranty", 1, WARRANTY.format(years=2), title="Warranty")
    produce(module_settings, "kb-changes", [("warranty", first)])
    return module_settings


def test_ask_waits_for_an_edit_and_cites_the_new_version(running: StreamwiseSettings) -> None:
    first = ask(running, "How long is the warranty on electronics?",
                min_versions={"warranty": 1}, timeout_s=240)  # fmt: skip
    assert first.status == "ok", getattr(first, "reason", None)
    assert [(c.doc_id, c.version) for c in first.citations] == [("warranty", 1)]

    produce(running, "kb-changes", [("warranty", change("warranty", 2, WARRANTY.format(years=3),
                                                        title="Warranty"))])  # fmt: skip
    edited = time.monotonic()
    second = ask(running, "How long is the warranty on electronics?",
                 min_versions={"warranty": 2}, timeout_s=120)  # fmt: skip
    assert second.status == "ok", getattr(second, "reason", None)
    assert [(c.doc_id, c.version) for c in second.citations] == [("warranty", 2)]
    assert second.index_version > first.index_version
    assert time.monotonic() - edited < 120
    text = format_answer(second)
    assert "status: ok" in text
    assert f"[1] warranty v2 ({second.citations[0].chunk_id})" in text


def test_serve_answers_over_http_and_refuses_bad_requests(running: StreamwiseSettings) -> None:
    router = AnswerRouter(running)
    try:
        with serving(make_app(router), "127.0.0.1", 0, what="POST /v1/ask") as port:
            answers_over_http(f"http://127.0.0.1:{port}")
    finally:
        router.close()


def answers_over_http(base: str) -> None:
    """What ``streamwise serve`` answers, asked as a web app asks it."""
    ok = httpx.post(f"{base}/v1/ask", json={"text": "Is there a warranty on electronics?",
                                            "min_versions": {"warranty": 1},
                                            "timeout_s": 120}, timeout=130)  # fmt: skip
    assert ok.status_code == 200
    answer = orjson.loads(ok.content)
    assert answer["status"] == "ok"
    assert {c["doc_id"] for c in answer["citations"]} == {"warranty"}

    bad = httpx.post(f"{base}/v1/ask", json={"text": ""}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"] == (
        "invalid Question: text: String should have at least 1 character (got '')"
    )
    get = httpx.get(f"{base}/v1/ask", timeout=10)
    assert (get.status_code, get.headers["allow"]) == (405, "POST")
    versions = httpx.post(f"{base}/v1/ask", content=b'{"text": "q", "min_versions": [1]}')
    assert versions.status_code == 400
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    too_large = httpx.post(f"{base}/v1/ask", content=b" " * (MAX_BODY_BYTES + 1), timeout=10)
    assert too_large.status_code == 413
    assert set(httpx.get(f"{base}/openapi.json").json()["paths"]) == {
        "/v1/ask",
        "/v1/answers/{question_id}/rating",
        "/healthz",
    }
    assert httpx.get(f"{base}/docs").status_code == 404  # no pages loading scripts from a CDN


def test_serve_with_a_tokens_file_asks_only_for_whom_each_token_may(
    running: StreamwiseSettings, caplog: pytest.LogCaptureFixture
) -> None:
    staff_token, staff_line = new_token("agent-7", "staff")
    customer_token, customer_line = new_token("app-c1", "customer:c-1")
    principals = parse_tokens(staff_line + "# the bank's app\n" + customer_line, "tokens")
    router = AnswerRouter(running)
    question = {"text": "How long is the warranty on electronics?", "timeout_s": 120}
    caplog.set_level(logging.INFO, logger="pipelines.knowledge.serve")
    try:
        with serving(make_app(router, principals), "127.0.0.1", 0, what="POST /v1/ask") as port:
            url = f"http://127.0.0.1:{port}/v1/ask"

            def ask_as(token: str | None, **extra: object) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                return httpx.post(url, json={**question, **extra}, headers=headers, timeout=130)

            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            nobody = ask_as(None)
            assert (nobody.status_code, nobody.headers["www-authenticate"]) == (401, "Bearer")
            assert ask_as("not-a-token").status_code == 401
            basic = httpx.post(url, json=question, headers={"Authorization": "Basic eDp5"})
            assert (basic.status_code, basic.json()) == (
                401, {"error": "use 'Authorization: Bearer <token>'"}
            )  # fmt: skip
            other = ask_as(customer_token, customer_id="c-2", text="leak c-2 please")
            assert other.status_code == 403
            assert other.json() == {"error": "token 'app-c1' may not ask for another customer"}

            own = ask_as(customer_token, customer_id="c-1")
            assert (own.status_code, own.json()["status"]) == (200, "ok")
            anyone = ask_as(staff_token, customer_id="c-2")
            assert (anyone.status_code, anyone.json()["status"]) == (200, "ok")
    finally:
        router.close()

    asked = [r.json() for r in read(running, "questions", until=lambda r: len(r) >= 3, idle_s=2)]
    assert "leak c-2 please" not in {q["text"] for q in asked}, "a 403 published nothing"
    audit = [r for r in caplog.records if r.getMessage() == "ask"]
    assert [(r.token, r.status) for r in audit] == [  # type: ignore[attr-defined]
        (None, 401), (None, 401), (None, 401), ("app-c1", 403), ("app-c1", 200), ("agent-7", 200)
    ]  # fmt: skip
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert customer_token not in logged
    assert staff_token not in logged
    assert "leak c-2 please" not in logged, "no question text at INFO"


def test_past_its_rate_a_token_gets_429_and_when_to_retry(running: StreamwiseSettings) -> None:
    busy, busy_line = new_token("busy-app", "customer:c-1")
    calm, calm_line = new_token("calm-app", "customer:c-2")
    principals = parse_tokens(busy_line + calm_line, "tokens")
    router = AnswerRouter(running)
    try:
        app = make_app(router, principals, RateLimiter(2))
        with serving(app, "127.0.0.1", 0, what="POST /v1/ask") as port:

            def empty_ask(token: str) -> httpx.Response:  # refused at once: no model call
                headers = {"Authorization": f"Bearer {token}"}
                url = f"http://127.0.0.1:{port}/v1/ask"
                return httpx.post(url, json={"text": ""}, headers=headers, timeout=30)

            assert [empty_ask(busy).status_code for _ in range(2)] == [400, 400]
            over = empty_ask(busy)
            assert over.status_code == 429
            assert 1 <= int(over.headers["retry-after"]) <= 60
            assert over.json()["error"].startswith("over the rate of asks; retry in ")
            assert empty_ask(calm).status_code == 400, "every token has a rate of its own"
    finally:
        router.close()


def test_serve_speaks_https_with_the_configured_certificate(
    running: StreamwiseSettings, tmp_path: Path
) -> None:
    """A throwaway CA signs the certificate, as the Kafka SASL_SSL test does."""
    tls = make_tls(tmp_path / "tls")
    _, line = new_token("agent-7", "staff")
    router = AnswerRouter(running)
    try:
        app = make_app(router, parse_tokens(line, "tokens"))
        with serving(app, "127.0.0.1", 0, what="POST /v1/ask",
                     tls=(tls.cert_pem, tls.key_pem)) as port:  # fmt: skip
            base = f"https://127.0.0.1:{port}"
            trust = ssl.create_default_context(cafile=tls.ca_pem)
            assert httpx.get(f"{base}/healthz", verify=trust).json() == {"status": "ok"}
            refused = httpx.post(f"{base}/v1/ask", json={"text": "q"}, verify=trust)
            assert refused.status_code == 401
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                httpx.get(f"{base}/healthz", timeout=10)  # not trusted without the CA
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)  # no plain HTTP
    finally:
        router.close()
