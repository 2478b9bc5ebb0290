"""Broker outages as an operator wants to read them: one line when it starts, one when it ends.

librdkafka retries a lost broker by itself, and reports every failed attempt: Quix logs
each as an error, several a second per client. ``BrokerOutage`` keeps the state those
reports imply instead. It learns from librdkafka's statistics (every client's view of
every broker, every few seconds) whether any client has lost all its brokers; the
transitions are the two lines, and ``/readyz`` says unavailable in between. The error
reports themselves are dropped by its logging filter, keeping the last one as the reason.

A partition that drops every byte but leaves the connections open looks connected to
librdkafka for a minute; a client whose connections owe a reply for ``STALL_S``, in two
reports in a row, counts as cut off.

A broker that comes back as another cluster (an empty one started on the same port)
holds none of our topics or offsets: carrying on would be a silent stall. librdkafka
will not talk to it, so its clients look cut off for good; during an outage a fresh
client asks every ``CLUSTER_PROBE_S`` which cluster answers (and once more at its end),
and a changed one stops the pipeline with one line.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import KafkaError

from pipelines.common.callbacks import contained
from pipelines.common.clients import cluster_id
from pipelines.common.settings import OUTAGE_BUDGET_S, StreamwiseSettings

logger = logging.getLogger("streamwise.outage")

STATS_INTERVAL_MS = 5000
"""How often librdkafka reports its statistics: the outage lines and metrics follow them."""

CONNECTION_CODES = frozenset({
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
})  # fmt: skip
# Quix's default error callbacks: 'Kafka consumer error: <reason> code="-195"'.
_CLIENT_ERROR = re.compile(
    r'^Kafka (?:consumer|producer) error: (?P<reason>.*) code="(?P<code>-?\d+)"$'
)
# Quix's own per-broker and recovery reports, and librdkafka's connection logs (Quix's
# clients log them on Quix's loggers), which these two lines replace.
_CONNECTION_REPORTS = re.compile(
    r"^(?:Kafka (?:consumer|producer)(?: broker connectivity restored|: broker )"
    r"|FAIL \[rdkafka#|\d+/\d+ brokers are down$)"
)
# Anything else librdkafka says while the brokers are gone (session timeouts, ...).
_LIBRDKAFKA = re.compile(r"^[A-Z]+ \[rdkafka#")


STALL_S = 10.0
"""A broker connection that owes a reply this long counts as lost: a partition that leaves
connections open looks ``UP`` to librdkafka until its 60 s socket timeout, while a fetch
is answered within ``fetch.wait.max.ms`` (0.5 s)."""

CLUSTER_PROBE_S = 10.0
"""How often, during an outage, a fresh client asks which cluster answers on the address."""


EXACTLY_ONCE_BUDGET_S = 60.0
"""Under exactly-once no outage is waited out past the transaction timeout (librdkafka's
60 s, kept): the coordinator aborts a transaction open longer. A longer timeout is no
way out: a crashed instance's open transaction keeps every ``read_committed`` reader of
its partitions waiting until it expires (measured: with 240 s, the replacement of a
SIGKILLed fraud pipeline had not delivered every alert 120 s later; with 60 s it had)."""


def outage_budget_s(settings: StreamwiseSettings) -> float:
    """How long this pipeline waits out an outage: ``STREAMWISE_OUTAGE_BUDGET_S``, at most
    ``EXACTLY_ONCE_BUDGET_S`` under exactly-once."""
    if settings.processing_guarantee == "exactly-once":
        return min(settings.outage_budget_s, EXACTLY_ONCE_BUDGET_S)
    return settings.outage_budget_s


def pipeline_meanwhile(budget_s: float) -> str:
    """What a pipeline does while its brokers are gone (the outage line says it)."""
    return f"waiting for it up to {budget_s:.0f} s, then stopping without committing"


QUIX_CLIENT_LOGGERS = ("quixstreams.kafka.consumer", "quixstreams.kafka.producer")


class ClusterChanged(ConnectionError):
    """The broker answers, but as another cluster than the one the pipeline started on."""


class BrokerOutage(logging.Filter):
    """Whether the brokers are reachable, from the clients' statistics; see the module doc.

    ``cluster_id`` asks the broker for its cluster id (``None`` if it cannot tell);
    ``on_cluster_changed`` is called (with a ``ClusterChanged``) when it answers with
    another one after an outage. ``meanwhile`` ends the outage line: what the client
    does until the brokers are back.
    """

    def __init__(
        self,
        cluster_id: Callable[[], str | None],
        on_cluster_changed: Callable[[ClusterChanged], None],
        *,
        meanwhile: str = pipeline_meanwhile(OUTAGE_BUDGET_S),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._cluster_id, self._on_cluster_changed = cluster_id, on_cluster_changed
        self._meanwhile, self._clock = meanwhile, clock
        self._known_cluster = cluster_id()
        self._cut_off: dict[str, bool] = {}
        self._stalled: dict[str, bool] = {}
        self._went_quiet: set[str] = set()  # clients that stalled during this outage
        self._turned_us = 0  # librdkafka's clock (``ts``) of the report that began or ended it
        self._since: float | None = None
        self._probed = clock()
        self._reason = "no broker answers"
        self._lock = threading.Lock()

    def install(self) -> None:
        """Filter Quix's Kafka client loggers through this outage (in place of an earlier one)."""
        for name in QUIX_CLIENT_LOGGERS:
            quix_logger = logging.getLogger(name)
            for earlier in [f for f in quix_logger.filters if isinstance(f, BrokerOutage)]:
                quix_logger.removeFilter(earlier)
            quix_logger.addFilter(self)

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the per-attempt connection reports (keeping the latest as the reason), and
        librdkafka's other complaints while the outage lasts."""
        message = record.getMessage()
        error = _CLIENT_ERROR.match(message)
        if error is not None and int(error["code"]) in CONNECTION_CODES:
            self._reason = error["reason"]
            return False
        if _CONNECTION_REPORTS.match(message):
            return False
        return not (self.ongoing and _LIBRDKAFKA.match(message))

    def stats_config(self) -> dict[str, Any]:
        """librdkafka settings of a client this tracker learns from (and nothing else does)."""
        return {
            "statistics.interval.ms": STATS_INTERVAL_MS,
            "stats_cb": contained(self.on_stats_json),
        }

    def on_stats_json(self, stats_json: str) -> None:
        """librdkafka's ``stats_cb``, for clients that feed nothing else from it."""
        self.on_stats(orjson.loads(stats_json))

    def on_stats(self, stats: dict[str, Any]) -> None:
        """One client's statistics: is it cut off from every broker it knows?"""
        brokers = [b for b in stats.get("brokers", {}).values() if b.get("nodeid", -1) != -1]
        if not brokers:
            return  # still bootstrapping: nothing known to be lost
        name, taken_us = str(stats.get("name", "")), int(stats.get("ts", 0))
        connected = any(b.get("state") == "UP" for b in brokers)
        stalled = connected and not any(map(_answers, brokers))
        heard = any(map(_heard_from, brokers))
        with self._lock:
            if taken_us < self._turned_us:
                # Taken before the last turn: a client not polled meanwhile (the loop was
                # blocked, in a commit) hands over its queued reports in a burst.
                return
            # ``rxidle`` counts from the last receive, not from the request: a request sent
            # on a connection idle for a minute looks stalled at once. Two reports in a row
            # (STATS_INTERVAL_MS apart) tell a stall from that.
            stalled_on, self._stalled[name] = stalled and self._stalled.get(name, False), stalled
            if stalled_on:
                self._reason = f"no reply for over {STALL_S:.0f} s on an open connection"
                self._went_quiet.add(name)
            # A client that stalled is back when a broker answers it again, not when its
            # requests merely timed out (librdkafka drops them: nothing is owed any more).
            still_quiet = name in self._went_quiet and not heard
            self._cut_off[name] = not connected or stalled_on or still_quiet
            down = any(self._cut_off.values())
            if down and self._since is None:
                self._since, self._turned_us = self._clock(), taken_us
                logger.warning("broker unreachable: %s; %s", self._reason, self._meanwhile)
            elif not down and self._since is not None:
                lasted = self._clock() - self._since
                self._since, self._turned_us = None, taken_us
                self._went_quiet.clear()
                logger.warning("broker reachable again after %.0f s", lasted)
                self._check_cluster()
            elif down and self._clock() - self._probed >= CLUSTER_PROBE_S:
                # librdkafka will not talk to a broker of another cluster: its clients stay
                # "down". A fresh client asks who answers on the address now.
                self._probed = self._clock()
                self._check_cluster()

    def changed_cluster(self) -> ClusterChanged | None:
        """Asked now: a ``ClusterChanged`` if another cluster answers on the address."""
        now = self._cluster_id()
        if self._known_cluster is None:
            self._known_cluster = now
            return None
        if now is None or now == self._known_cluster:
            return None
        msg = (
            f"the broker came back as another cluster (id {now}, was "
            f"{self._known_cluster}): it holds none of the topics and offsets used so far. "
            "Point STREAMWISE_BROKER at the old cluster, or recreate the topics"
        )
        return ClusterChanged(msg)

    def _check_cluster(self) -> None:
        changed = self.changed_cluster()
        if changed is not None:
            self._on_cluster_changed(changed)


def _heard_from(broker: dict[str, Any]) -> bool:
    """Connected, and something received within ``STALL_S``."""
    return broker.get("state") == "UP" and 0 <= broker.get("rxidle", -1) < STALL_S * 1e6


def _answers(broker: dict[str, Any]) -> bool:
    """Connected, and not owing a reply for longer than ``STALL_S`` (``rxidle`` is in µs)."""
    stalled = broker.get("waitresp_cnt", 0) > 0 and broker.get("rxidle", -1) > STALL_S * 1e6
    return broker.get("state") == "UP" and not stalled


def watching(config: dict[str, Any], meanwhile: str) -> BrokerOutage:
    """The tracker of a client that keeps running through anything (``serve``, the
    dashboard): a changed cluster is logged as an error, not a reason to stop."""
    return BrokerOutage(
        lambda: cluster_id(config), lambda changed: logger.error("%s", changed),
        meanwhile=meanwhile,
    )  # fmt: skip


class WaitingOut:
    """The steps of this process waiting out an outage right now (a model server, Chroma),
    and for how long they may (``budget_s``: the pipeline sets it from its settings).

    One pipeline runs per process, so this is process-wide: ``dlq.stage`` and the sinks
    mark a step when its outage starts and clear it when it ends, and ``/readyz`` answers
    503 while any is marked (the main loop is blocked in the step's backoff meanwhile).
    """

    def __init__(self, budget_s: float = OUTAGE_BUDGET_S) -> None:
        self.budget_s = budget_s
        self._steps: set[str] = set()
        self._lock = threading.Lock()

    def started(self, step: str) -> None:
        with self._lock:
            self._steps.add(step)

    def ended(self, step: str) -> None:
        with self._lock:
            self._steps.discard(step)

    @property
    def steps(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._steps))


WAITING_OUT = WaitingOut()
