"""``serve`` and the dashboard while their broker is down, as their users see it.

``serve``: ``/healthz`` says so, asks get ``503`` at once. The dashboard: its summary
says the broker is unreachable (the page shows "figures may be stale"). Both come back
by themselves once the broker is restarted.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from pipelines.common.http import serving
from pipelines.common.settings import StreamwiseSettings
from pipelines.console.server import make_app as dashboard_app
from pipelines.devenv.broker import embedded_broker
from pipelines.knowledge.replies import AnswerRouter
from pipelines.knowledge.serve import make_app
from tests.processes import wait_for


def test_serve_says_503_while_the_broker_is_down_and_recovers(tmp_path: Path) -> None:
    kafka_dir = tmp_path / "kafka"
    with embedded_broker("kafka", data_dir=kafka_dir) as broker:
        settings = StreamwiseSettings(broker=broker.address, data_dir=tmp_path / "data")
        router = AnswerRouter(settings)
        try:
            with serving(make_app(router), "127.0.0.1", 0, what="POST /v1/ask") as port:
                url = f"http://127.0.0.1:{port}"
                assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
                broker.child.kill()
                broker.child.wait(30)
                wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 503, timeout_s=30,
                         what="healthz to say the broker is gone")  # fmt: skip
                asked = time.monotonic()
                refused = httpx.post(f"{url}/v1/ask", json={"text": "Where is my refund?"},
                                     timeout=30)  # fmt: skip
                assert time.monotonic() - asked < 5, "at once, not after the answer timeout"
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "10"
                assert "broker is unreachable" in refused.json()["error"]
                with embedded_broker("kafka", data_dir=kafka_dir):
                    wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200,
                             timeout_s=60, what="healthz to recover")  # fmt: skip
        finally:
            router.close()


def test_the_dashboard_says_its_figures_may_be_stale_while_the_broker_is_down(
    tmp_path: Path,
) -> None:
    kafka_dir = tmp_path / "kafka"
    with embedded_broker("kafka", data_dir=kafka_dir) as broker:
        settings = StreamwiseSettings(broker=broker.address, data_dir=tmp_path / "data")
        app, reader = dashboard_app(settings)
        reader.start()
        try:
            with serving(app, "127.0.0.1", 0, what="the dashboard") as port:

                def reachable() -> bool:
                    summary = httpx.get(f"http://127.0.0.1:{port}/api/summary").json()
                    return bool(summary["broker_reachable"])

                assert reachable()
                broker.child.kill()
                broker.child.wait(30)
                wait_for(lambda: not reachable(), timeout_s=30, what="the summary to say so")
                with embedded_broker("kafka", data_dir=kafka_dir):
                    wait_for(reachable, timeout_s=60, what="the summary to recover")
        finally:
            reader.stop()
