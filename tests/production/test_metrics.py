"""Metrics and health: scrape a running ``streamwise run fraud`` and watch the numbers move."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import free_port
from tests.fraud.transactions import LONDON, PARIS, txn
from tests.kafkaio import produce
from tests.processes import start_pipeline, stop, wait_for
from tests.production.scrape import get, samples, value


def test_a_running_pipeline_serves_health_and_counts_what_it_does(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "fraud.log"
    fraud = start_pipeline(settings, log, env={"STREAMWISE_METRICS_PORT": str(port)})
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200, timeout_s=90, what="readiness")
        assert get(port, "/livez") == (200, "ok\n")
        assert get(port, "/nope")[0] == 404

        produce(settings, "transactions", [
            ("card-m", txn("m1", "card-m", timedelta(0), LONDON)),
            ("card-m", txn("m2", "card-m", timedelta(seconds=40), PARIS)),
            ("card-m", b'{"txn_id": "truncated", '),
        ])  # fmt: skip
        transactions = settings.topic_prefix + "transactions"
        alerts = settings.topic_prefix + "fraud-alerts"

        def moved() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
            scraped = samples(port)
            done = (
                value(scraped, "streamwise_messages_in_total", topic=transactions) >= 2
                and value(scraped, "streamwise_messages_out_total", topic=alerts) >= 1
                and value(scraped, "streamwise_dead_letters_total", pipeline="fraud") >= 1
            )
            return scraped if done else None

        scraped = wait_for(
            moved, timeout_s=60, what=lambda: f"counters to move\n{log.read_text()[-2000:]}"
        )
    finally:
        code = stop(fraud)
    assert code == 0, log.read_text()[-2000:]

    # the good messages were timed through every step; the poison one failed at decode
    assert value(scraped, "streamwise_processing_seconds_count", pipeline="fraud") >= 2
    assert value(scraped, "streamwise_state_store_bytes", pipeline="fraud") > 0
    assert value(scraped, "streamwise_ready", pipeline="fraud") == 1
    lags = {
        dict(labels)["topic"]: lag
        for (name, labels), lag in scraped.items()
        if name == "streamwise_consumer_lag"
    }
    assert transactions in lags, "the input partition with commits reports its lag"
    assert all(lag >= 0 for lag in lags.values())
    assert not any(
        dict(labels).get("topic", "").startswith("changelog__") for _, labels in scraped
    ), "Quix's internal topics are neither outputs nor inputs to report"


def test_replicas_on_one_host_network_take_free_metrics_ports_and_say_which(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    """``STREAMWISE_METRICS_PORT=0``: two replicas of one pipeline on one host, as
    ``docker-compose --scale`` with host networking runs them, each serve on a port of
    their own and write it where the image's health check reads it."""
    replicas = []
    for n in range(2):
        replica = settings.model_copy(update={"data_dir": tmp_path / f"replica-{n}"})
        log = tmp_path / f"fraud-{n}.log"
        replicas.append(
            (replica, log, start_pipeline(replica, log, env={"STREAMWISE_METRICS_PORT": "0"}))
        )
    try:
        ports = []
        for replica, log, _ in replicas:
            announced = replica.run_dir / "fraud.metrics-port"
            wait_for(announced.exists, timeout_s=90, what=lambda: log.read_text()[-2000:])  # noqa: B023
            port = int(announced.read_text())
            wait_for(lambda: get(port, "/livez") == (200, "ok\n"), timeout_s=30, what="liveness")  # noqa: B023
            ports.append(port)
    finally:
        codes = [stop(process) for _, _, process in replicas]
    assert len(set(ports)) == 2, ports
    assert codes == [0, 0]
