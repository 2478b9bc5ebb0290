"""Prometheus metrics and health probes of one pipeline process (``STREAMWISE_METRICS_PORT``).

Quix gives no per-message hooks beyond "message processed", so the numbers come
from three places: that callback (messages in), librdkafka's own statistics
(messages out per topic, consumer lag per partition: the clients already count
them, exactly, for every output a pipeline has, sinks included) and values read
at scrape time (dead letters, state-store size). Model and cache metrics live in
a process-wide registry because the adapters that feed them are shared by every
pipeline in the process (the wrappers of ``metered``, ``record_cache_lookup``).

``/metrics`` is prometheus_client's own ASGI app; ``/livez`` answers 200 while the
main loop keeps polling Kafka (a step stuck for longer than any retry budget is a
hung process: restart it); ``/readyz`` answers 200 once the main loop runs (models
loaded, topics subscribed; the group assigns partitions moments later), and 503
again once it is stopping. They run on uvicorn through ``http``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines.common import http
from pipelines.common.callbacks import contained
from pipelines.common.outage import STATS_INTERVAL_MS, WAITING_OUT, BrokerOutage

logger = logging.getLogger(__name__)

"""How often librdkafka reports its statistics (messages out, consumer lag)."""
LIVENESS_TIMEOUT_S = 300.0
"""Above the 240 s outage budget of ``dlq.stage``: a loop silent for longer is hung."""
PROCESSING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30)
INTERNAL_TOPIC_PREFIXES = ("changelog__", "repartition__")
"""Quix's own topics: state changelogs and repartitions are not a pipeline's output."""

# Process-wide: model adapters and caches are shared by whatever runs in the process.
SHARED_REGISTRY = CollectorRegistry()
MODEL_LATENCY = Histogram(
    "streamwise_model_latency_seconds",
    "Duration of one model call (a batch of embeddings or one chat completion).",
    ["model", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=SHARED_REGISTRY,
)
MODEL_ERRORS = Counter(
    "streamwise_model_errors_total",
    "Model calls that raised, by exception type.",
    ["model", "operation", "error"],
    registry=SHARED_REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "streamwise_cache_lookups_total",
    "Cache lookups by result (hit or miss); the hit ratio is hit / (hit + miss).",
    ["cache", "result"],
    registry=SHARED_REGISTRY,
)


LATE_EVENTS = Counter(
    "streamwise_late_events_total",
    "Events that reached a window after it closed (past its grace): kept, not aggregated.",
    ["window"],
    registry=SHARED_REGISTRY,
)


def record_cache_lookup(cache: str, *, hit: bool) -> None:
    """Count one lookup of ``cache`` (e.g. the feedback analysis cache)."""
    CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss").inc()


class _CacheHitRatio(Collector):
    """``streamwise_cache_hit_ratio``: hits over lookups so far, for dashboards without PromQL."""

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, dict[str, float]] = {}
        for family in CACHE_LOOKUPS.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts = totals.setdefault(sample.labels["cache"], {})
                    counts[sample.labels["result"]] = sample.value
        ratio = GaugeMetricFamily(
            "streamwise_cache_hit_ratio", "Cache hits over lookups since start.", labels=["cache"]
        )
        for cache, counts in totals.items():
            lookups = counts.get("hit", 0.0) + counts.get("miss", 0.0)
            if lookups:
                ratio.add_metric([cache], counts.get("hit", 0.0) / lookups)
        yield ratio


SHARED_REGISTRY.register(_CacheHitRatio())


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (0 if it does not exist yet)."""
    total = 0
    for file in path.rglob("*"):
        with contextlib.suppress(OSError):  # RocksDB deletes files while we walk
            if file.is_file():
                total += file.stat().st_size
    return total


class PipelineMetrics:
    """The metrics of one pipeline, in a registry of its own, plus its health flags."""

    def __init__(
        self,
        pipeline: str,
        *,
        state_dir: Path,
        dead_letters: Callable[[], int],
        outage: BrokerOutage | None = None,
    ) -> None:
        self.pipeline = pipeline
        self._outage = outage
        self.registry = CollectorRegistry()
        self._state_dir = state_dir
        self._dead_letters = dead_letters
        self._lock = threading.Lock()
        self._lag: dict[tuple[str, int], int] = {}
        self._sent: dict[tuple[str, str], int] = {}
        self._polled_at = time.monotonic()
        self._processing = False
        self._stopping = False
        self.messages_in = Counter(
            "streamwise_messages_in_total",
            "Input messages through the pipeline's steps, by source topic (messages that "
            "cannot be decoded never reach the steps: they count as dead letters).",
            ["pipeline", "topic"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "streamwise_messages_out_total",
            "Messages the pipeline's producer delivered to an output topic (from librdkafka).",
            ["pipeline", "topic"],
            registry=self.registry,
        )
        self.processing_seconds = Histogram(
            "streamwise_processing_seconds",
            "Time one input message spends in the pipeline's steps (state, models, outputs).",
            ["pipeline"],
            buckets=PROCESSING_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ScrapeTimeValues(self))

    # -- hooks the app factory wires into Quix and librdkafka --------------------------

    def on_message_processed(
        self, chained: Callable[[str, int, int], None] | None
    ) -> Callable[[str, int, int], None]:
        """Quix's ``on_message_processed``: count the message, then call ``chained``."""
        by_topic: dict[str, Any] = {}  # labelled children, looked up once per topic

        def processed(topic: str, partition: int, offset: int) -> None:
            if (child := by_topic.get(topic)) is None:
                child = by_topic[topic] = self.messages_in.labels(self.pipeline, topic)
            child.inc()
            if chained is not None:
                chained(topic, partition, offset)

        return processed

    def timed(self, step: Callable[..., None]) -> Callable[..., None]:
        """``step`` (one topic's composed dataflow) observed by the processing histogram."""
        histogram = self.processing_seconds.labels(self.pipeline)

        def run(*args: Any) -> None:
            started = time.perf_counter()
            try:
                step(*args)
            finally:
                histogram.observe(time.perf_counter() - started)

        return run

    def client_stats_config(self) -> dict[str, Any]:
        """librdkafka settings that feed consumer lag and messages out into these metrics."""
        return {
            "statistics.interval.ms": STATS_INTERVAL_MS,
            "stats_cb": contained(self.on_client_stats),
        }

    def on_client_stats(self, stats_json: str) -> None:
        """librdkafka's statistics (served from poll, on the main loop: also a heartbeat)."""
        self.heartbeat()
        stats = orjson.loads(stats_json)
        if self._outage is not None:
            self._outage.on_stats(stats)
        if stats.get("type") == "consumer":
            self._update_lag(stats)
        elif stats.get("type") == "producer":
            self._update_sent(stats)

    def heartbeat(self) -> None:
        """The main loop is alive (it polled Kafka just now)."""
        self._polled_at = time.monotonic()

    def processing(self) -> None:
        """The processing loop runs: subscribed, state recovered, polling for messages."""
        self._processing = True

    def stopping(self) -> None:
        """Shutdown began: take this replica out of rotation."""
        self._stopping = True

    # -- health -------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return time.monotonic() - self._polled_at < LIVENESS_TIMEOUT_S

    @property
    def ready(self) -> bool:
        reachable = self._outage is None or not self._outage.ongoing
        waiting = bool(WAITING_OUT.steps)
        return self._processing and not self._stopping and self.live and reachable and not waiting

    # -- internals ----------------------------------------------------------------------

    def _update_lag(self, stats: dict[str, Any]) -> None:
        lag = {
            (topic, int(partition)): int(info.get("consumer_lag", -1))
            for topic, topic_info in stats.get("topics", {}).items()
            if not topic.startswith(INTERNAL_TOPIC_PREFIXES)
            for partition, info in topic_info.get("partitions", {}).items()
            if int(partition) >= 0 and int(info.get("consumer_lag", -1)) >= 0
        }
        with self._lock:
            self._lag = lag  # only what this replica owns now: revoked partitions drop out

    def _update_sent(self, stats: dict[str, Any]) -> None:
        client = str(stats.get("name", ""))
        for topic, topic_info in stats.get("topics", {}).items():
            if topic.startswith(INTERNAL_TOPIC_PREFIXES):
                continue
            sent = sum(
                int(info.get("txmsgs", 0))
                for partition, info in topic_info.get("partitions", {}).items()
                if int(partition) >= 0
            )
            # librdkafka reports totals per client; a new client (e.g. a transactional
            # producer recreated after an error) starts from zero, so count deltas.
            with self._lock:
                previous = self._sent.get((client, topic), 0)
                self._sent[(client, topic)] = sent
            if sent > previous:
                self.messages_out.labels(self.pipeline, topic).inc(sent - previous)

    def lag_snapshot(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._lag)

    def dead_letters_sent(self) -> int:
        return self._dead_letters()

    def state_bytes(self) -> int:
        return directory_bytes(self._state_dir)


class _ScrapeTimeValues(Collector):
    """Values read when Prometheus scrapes: consumer lag, dead letters, state-store size."""

    def __init__(self, metrics: PipelineMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m, pipeline = self._metrics, self._metrics.pipeline
        lag = GaugeMetricFamily(
            "streamwise_consumer_lag",
            "Messages behind the end of each input partition this replica owns (committed).",
            labels=["pipeline", "topic", "partition"],
        )
        for (topic, partition), behind in sorted(m.lag_snapshot().items()):
            lag.add_metric([pipeline, topic, str(partition)], behind)
        yield lag
        dead = CounterMetricFamily(
            "streamwise_dead_letters",
            "Messages sent to the pipeline's dead-letter topic.",
            labels=["pipeline"],
        )
        dead.add_metric([pipeline], m.dead_letters_sent())
        yield dead
        size = GaugeMetricFamily(
            "streamwise_state_store_bytes",
            "Size on disk of the pipeline's RocksDB state on this replica.",
            labels=["pipeline"],
        )
        size.add_metric([pipeline], m.state_bytes())
        yield size
        up = GaugeMetricFamily("streamwise_ready", "1 while ready.", labels=["pipeline"])
        up.add_metric([pipeline], 1.0 if m.ready else 0.0)
        yield up


def scrape_registry(metrics: PipelineMetrics) -> CollectorRegistry:
    """What ``/metrics`` shows: the pipeline's metrics, then the process-wide ones."""
    both = CollectorRegistry(support_collectors_without_names=True)
    both.register(metrics.registry)
    both.register(SHARED_REGISTRY)
    return both


class _AsgiEndpoint:
    """An ASGI app as a route's endpoint, at exactly its path.

    Starlette calls a plain function endpoint with a request, and prometheus_client's
    app is a plain function; a ``Mount`` would answer ``/metrics`` with a redirect.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _probe(healthy: bool, failing: str) -> PlainTextResponse:
    return PlainTextResponse("ok\n" if healthy else failing, status_code=200 if healthy else 503)


def endpoints(metrics: PipelineMetrics) -> Starlette:
    """The ASGI app of ``/metrics``, ``/livez`` and ``/readyz``."""

    async def livez(request: Request) -> PlainTextResponse:
        return _probe(metrics.live, "stalled\n")

    async def readyz(request: Request) -> PlainTextResponse:
        waiting = WAITING_OUT.steps
        failing = f"waiting out an outage: {', '.join(waiting)}\n" if waiting else "not ready\n"
        return _probe(metrics.ready, failing)

    async def not_found(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("try /metrics, /livez or /readyz\n", status_code=404)

    exposition = _AsgiEndpoint(make_asgi_app(scrape_registry(metrics)))
    return Starlette(
        routes=[
            Route("/metrics", exposition, methods=["GET"]),
            Route("/livez", livez),
            Route("/readyz", readyz),
        ],
        exception_handlers={404: not_found},
    )


@contextlib.contextmanager
def serving(metrics: PipelineMetrics, host: str, port: int) -> Iterator[int]:
    """Serve ``/metrics``, ``/livez`` and ``/readyz`` in a daemon thread; yields the port.

    Binding fails fast (a ``ConnectionError`` naming the port) rather than running unobserved.
    """
    with http.serving(endpoints(metrics), host, port, what="metrics") as bound:
        logger.info("metrics on http://%s:%s/metrics", host, bound)
        yield bound
