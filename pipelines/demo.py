"""``streamwise demo``: every pipeline, on a realistic generated stream, shown as it happens.

The demo is a small deployment: each pipeline runs as its own ``streamwise run``
process (as in production), a Chroma server is started when none is configured
(embedded Chroma is single-process), the scenarios' events are sent on their
schedule, and whatever arrives on the watched topics is rendered live. Scenarios with
people in the loop (``scenarios/base.py`` ``Reacts``: analysts' verdicts, a support
agent's labels) read those records too and schedule events of their own; the demo
drains until nothing is due, no scenario waits and the outputs are quiet. It ends with
each scenario's summary.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, ConsumerGroupState, Producer
from confluent_kafka.admin import AdminClient
from rich.console import Console

from pipelines.common.clients import (
    client_config,
    create_registry_topics,
    pipeline_group,
    producer_config,
)
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import dlq_name
from pipelines.devenv.broker import process
from pipelines.devenv.chroma_server import running_chroma
from pipelines.scenarios.base import Reacts, Render, Scenario, Send

SCENARIO_MODULES = (
    "pipelines.scenarios.fraud",
    "pipelines.scenarios.feedback",
    "pipelines.scenarios.knowledge",
)
DRAIN_IDLE_S = 20.0  # after the last event: stop once nothing new arrived for this long
DRAIN_MAX_S = 180.0


class DemoError(RuntimeError):
    """The demo could not run to its summary (a pipeline died, Chroma did not start)."""


def load_scenarios(settings: StreamwiseSettings) -> list[Scenario]:
    """Every pipeline package that ships a demo scenario."""
    scenarios = []
    for name in SCENARIO_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        scenarios.append(module.scenario(settings))
    return scenarios


@contextlib.contextmanager
def chroma_server(settings: StreamwiseSettings, logs: Path) -> Iterator[str]:
    """A local Chroma server over the demo's data dir, unless one is configured."""
    if settings.chroma_host:
        yield settings.chroma_host
        return
    with running_chroma(settings.data_dir / "chroma", logs / "chroma.log") as server:
        yield server.address


class LiveView:
    """Lines as they happen, with a progress line; plain text when not on a terminal."""

    def __init__(self, console: Console, total_events: int) -> None:
        self._console, self._total = console, total_events
        self.sent = 0
        self.received: Counter[str] = Counter()
        self._last_progress = 0.0

    def line(self, text: str) -> None:
        # data, not markup: "[email]", "[phone]" and "[card ****1111]" must stay visible
        self._console.print(text, highlight=False, soft_wrap=True, markup=False)

    def scheduled(self, count: int) -> None:
        """``count`` more events to send (people's answers to what they saw)."""
        self._total += count

    def progress(self, phase: str, *, force: bool = False, waiting: Iterable[str] = ()) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < 10:
            return
        self._last_progress = now
        outputs = ", ".join(f"{topic} {n}" for topic, n in sorted(self.received.items()))
        self._console.print(
            f"[dim]-- {phase}: sent {self.sent}/{self._total} events; "
            f"received {outputs or 'nothing yet'}"
            + "".join(f"; {what}" for what in waiting)
            + "[/]",
            highlight=False,
        )


class Schedule:
    """Events to send, in time order, whether planned up front or scheduled as a reaction."""

    def __init__(self, sends: Iterable[Send] = ()) -> None:
        self._heap: list[tuple[float, int, Send]] = []
        self._added = 0
        self.add(sends)

    def add(self, sends: Iterable[Send]) -> int:
        """Schedule ``sends``; return how many."""
        before = self._added
        for send in sends:
            heapq.heappush(self._heap, (send.at_s, self._added, send))
            self._added += 1
        return self._added - before

    def due(self, now_s: float) -> Iterator[Send]:
        """The events due by ``now_s``, removed from the schedule."""
        while self._heap and self._heap[0][0] <= now_s:
            yield heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


def run_demo(settings: StreamwiseSettings, *, seconds: float) -> int:
    """Run the demo on ``settings``' broker; returns the exit code."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    settings = settings.model_copy(
        update={
            "data_dir": settings.data_dir / "demo" / run_id,
            "topic_prefix": settings.topic_prefix or f"demo-{run_id}.",
        }
    )
    logs = settings.data_dir / "logs"
    console = Console(soft_wrap=True)
    scenarios = load_scenarios(settings)
    events = sorted(
        (send for scenario in scenarios for send in scenario.events(seconds)), key=lambda s: s.at_s
    )
    console.print(
        f"[bold]streamwise demo[/]: {', '.join(s.title for s in scenarios)} on {settings.broker}; "
        f"{len(events)} events over {seconds:.0f}s; logs in {logs}",
        highlight=False,
    )
    # Topics first, as every client of ours does (no broker of ours auto-creates them),
    # so the demo's producers can start before the pipelines have.
    create_registry_topics(settings)
    with chroma_server(settings, logs) as chroma_host:
        settings = settings.model_copy(update={"chroma_host": chroma_host})
        pipelines = [name for scenario in scenarios for name in scenario.pipelines]
        env = {k: v for s in scenarios if isinstance(s, Reacts) for k, v in s.pipeline_env.items()}
        children = start_pipelines(settings, pipelines, logs, env)
        try:
            console.print("[dim]-- starting pipelines (loading models)...[/]", highlight=False)
            wait_until_consuming(settings, list(children), children)
            view = LiveView(console, len(events))
            outputs = run_stream(settings, scenarios, events, view, children)
        finally:
            for child in children.values():
                process.stop(child, grace_s=20)
    console.rule("[bold]summary")
    for scenario in scenarios:
        console.print(f"[bold]{scenario.title}[/]", highlight=False)
        for line in scenario.summary(outputs):
            console.print(f"  {line}", highlight=False, markup=False)
    dead = {topic: n for topic, n in ((t, len(outputs.get(t, []))) for t in _dlqs(scenarios)) if n}
    console.print(f"dead letters: {dead or 'none'}", highlight=False)
    return 0


def _dlqs(scenarios: list[Scenario]) -> list[str]:
    return [dlq_name(p) for scenario in scenarios for p in scenario.pipelines]


def start_pipelines(
    settings: StreamwiseSettings,
    pipelines: list[str],
    logs: Path,
    extra_env: dict[str, str] | None = None,
) -> dict[str, subprocess.Popen[bytes]]:
    """Each of ``pipelines`` as its own ``streamwise run`` process, logging under ``logs``."""
    env = {
        **os.environ,
        "STREAMWISE_BROKER": str(settings.broker),
        "STREAMWISE_BROKER_ENGINE": settings.broker_engine,
        "STREAMWISE_DATA_DIR": str(settings.data_dir),
        "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
        **({"STREAMWISE_CHROMA_HOST": settings.chroma_host} if settings.chroma_host else {}),
        "STREAMWISE_PARTITIONS": str(settings.partitions),
        **(extra_env or {}),
    }
    return {
        name: process.spawn(
            [sys.executable, "-m", "pipelines.cli", "run", name],
            log_path=logs / f"{name}.log",
            env=env,
        )
        for name in pipelines
    }


def run_stream(
    settings: StreamwiseSettings,
    scenarios: list[Scenario],
    events: list[Send],
    view: LiveView,
    children: dict[str, subprocess.Popen[bytes]],
    *,
    idle_s: float = DRAIN_IDLE_S,
    max_s: float = DRAIN_MAX_S,
) -> dict[str, list[dict[str, Any]]]:
    """Send ``events`` on schedule while rendering outputs and letting the scenarios' people
    react to them; then drain until nothing is due, nobody waits and nothing new arrived
    for ``idle_s`` (``max_s`` at most). Returns the records read, by unprefixed topic."""
    loop = _Loop(settings, scenarios, view, Schedule(events))
    stream_ends_s = max((send.at_s for send in events), default=0.0)
    draining_since: float | None = None
    try:
        while True:
            now = loop.turn()
            check_alive(children)
            if now <= stream_ends_s:
                view.progress("streaming")
                continue
            if draining_since is None:
                loop.producer.flush(30)
                draining_since = time.monotonic()
            waiting = [what for person in loop.people if (what := person.waiting(now))]
            quiet = time.monotonic() - max(loop.last_activity, draining_since)
            if not loop.schedule and not waiting and quiet > idle_s:
                break
            if time.monotonic() - draining_since > max_s:
                break
            view.progress("draining", waiting=waiting)
    finally:
        loop.close()
    view.progress("done", force=True)
    return loop.outputs


class _Loop:
    """One turn at a time: send what is due, read one record, let people react to it."""

    def __init__(
        self,
        settings: StreamwiseSettings,
        scenarios: list[Scenario],
        view: LiveView,
        schedule: Schedule,
    ) -> None:
        self._prefix, self._view, self.schedule = settings.topic_prefix, view, schedule
        self._renderers: dict[str, Render] = {
            settings.topic_prefix + topic: render
            for scenario in scenarios
            for topic, render in scenario.watch.items()
        }
        self.people = [scenario for scenario in scenarios if isinstance(scenario, Reacts)]
        self._consumer = Consumer(
            {
                **client_config(settings),
                "group.id": f"streamwise-demo-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
            }
        )
        dlqs = [settings.topic_prefix + t for t in _dlqs(scenarios)]
        self._consumer.subscribe([*self._renderers, *dlqs])
        self.producer = Producer(producer_config(settings))
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self._started = self.last_activity = time.monotonic()

    def turn(self) -> float:
        """One turn; returns its time, in seconds since the first."""
        now = time.monotonic() - self._started
        for send in self.schedule.due(now):
            self.producer.produce(
                self._prefix + send.topic,
                key=send.key.encode(),
                value=encode_json(send.value),
                timestamp=send.timestamp_ms or 0,
            )
            self._view.sent += 1
            self.last_activity = time.monotonic()
        self.producer.poll(0)
        for person in self.people:
            self._view.scheduled(self.schedule.add(person.tick(now)))
        message = self._consumer.poll(0.05)
        if message is None or message.error() is not None:
            return now
        self.last_activity = time.monotonic()
        topic = message.topic()[len(self._prefix) :]
        self._view.received[topic] += 1
        render = self._renderers.get(message.topic())
        if render is None:  # a dead letter
            self.outputs.setdefault(topic, []).append({})
            error = dict(message.headers() or []).get("streamwise.error", b"?")
            self._view.line(f"[magenta]DEAD LETTER[/] {topic}: {error.decode()}")
            return now
        value = orjson.loads(message.value())
        self.outputs.setdefault(topic, []).append(value)
        rendered = render(value)
        if rendered:
            self._view.line(rendered)
        for person in self.people:
            self._view.scheduled(self.schedule.add(person.react(topic, value, now)))
        return now

    def close(self) -> None:
        self.producer.flush(30)
        self._consumer.close()


def wait_until_consuming(
    settings: StreamwiseSettings,
    pipelines: list[str],
    children: dict[str, subprocess.Popen[bytes]],
    timeout_s: float = 180.0,
) -> None:
    """Block until every pipeline's consumer group has members with partitions.

    Sending before a slow starter (model loading) joins would pile a backlog on it;
    windowed pipelines then see partitions out of event-time order.
    """
    admin = AdminClient(client_config(settings))
    groups = [pipeline_group(name, settings.topic_prefix) for name in pipelines]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check_alive(children)
        futures = list(admin.describe_consumer_groups(groups, request_timeout=10).values())
        # exception(), not result(): a re-raised error's traceback would hold this frame
        # and so the client in a reference cycle, destroyed by a later garbage collection
        # (hanging if the broker is gone by then, as at the end of a test session)
        failed = [future.exception() for future in futures]
        described = [] if any(failed) else [future.result() for future in futures]
        if described and all(
            group.state == ConsumerGroupState.STABLE and group.members for group in described
        ):
            return
        time.sleep(0.5)
    msg = f"pipelines did not join their consumer groups within {timeout_s:.0f}s"
    raise DemoError(msg)


def check_alive(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, child in children.items():
        if child.poll() is not None:
            msg = f"pipeline {name!r} exited with code {child.returncode}; see {name}.log"
            raise DemoError(msg)
