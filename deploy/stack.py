"""The compose stack of ``make e2e`` as the harness drives it: files, containers, topics.

``deploy/e2e.py`` says what is checked; this module knows how to reach the stack: the
two compose files merged (host networking, ``ports:`` dropped), ``docker-compose`` and
``docker`` calls, health, ``streamwise produce`` in a container, topics read from the
host, the tokens file of ``serve`` and the dashboard, and each container's metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer

from pipelines.common.auth import new_token

PROJECT = "streamwise-e2e"
FILES = ["-f", "docker-compose.yml", "-f", "deploy/compose.e2e.yml"]
RENDERED = Path(".build/compose.e2e.yml")
TOKENS = Path(".build/e2e-tokens")
DASHBOARD = "http://127.0.0.1:8050"
COMPOSE = ["docker-compose", "-p", PROJECT, "-f", str(RENDERED)]
BROKER = "127.0.0.1:9092"
SERVE = "http://127.0.0.1:8080"
ONE_SHOTS = ("topics", "ollama-model", "cdc-connector")
HEALTHY_TIMEOUT_S = 600.0
Place = tuple[float, float, str, str]
"""lat, lon, country, city"""
LONDON: Place = (51.5074, -0.1278, "GB", "London")
PARIS: Place = (48.8566, 2.3522, "FR", "Paris")


def compose(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [*COMPOSE, *args], check=True, text=True, capture_output=capture, stdin=subprocess.DEVNULL
    )
    return result.stdout if capture else ""


def make_tokens() -> str:
    """A tokens file for serve and the dashboard (they refuse 0.0.0.0 without one); the
    staff token it admits."""
    token, line = new_token("e2e-staff", "staff")
    TOKENS.parent.mkdir(exist_ok=True)
    TOKENS.write_text(line)
    TOKENS.chmod(0o644)
    os.environ["STREAMWISE_TOKENS"] = str(TOKENS.resolve())
    return token


def render() -> None:
    """The two files merged, with ``ports`` dropped: on the host's network a container
    listens on the host's ports directly, and docker-compose 1.29 refuses host networking
    with port bindings (an override can add to a list but not remove it)."""
    merged = subprocess.run(
        ["docker-compose", *FILES, "config"], check=True, capture_output=True, text=True
    ).stdout
    config = yaml.safe_load(merged)  # `config` keeps each $$ as it is
    for service in config["services"].values():
        service.pop("ports", None)
    RENDERED.parent.mkdir(exist_ok=True)
    RENDERED.write_text(yaml.safe_dump(config, sort_keys=False))


def default_services() -> list[str]:
    """The services ``up`` starts without ``--profile`` (``config --services`` lists all)."""
    return [name for name, svc in _rendered_services().items() if not svc.get("profiles")]


def pipeline_services() -> list[str]:
    """The default services that run a pipeline (``streamwise run ...``; the Chroma server's
    own ``chroma run`` is not one)."""
    services = _rendered_services()
    return [
        name
        for name in default_services()
        if "entrypoint" not in services[name] and services[name].get("command", [""])[0] == "run"
    ]


def _rendered_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(RENDERED.read_text())["services"]
    return services


def containers(service: str) -> list[str]:
    return compose("ps", "-q", service, capture=True).split()


def state_of(container: str) -> str:
    """``healthy``, ``starting`` or ``unhealthy`` if it has a health check, else its state."""
    template = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"
    out = subprocess.run(
        ["docker", "inspect", "-f", template + " {{.State.ExitCode}}", container],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    status, code = out
    return f"exited {code}" if status == "exited" else status


def wait_healthy(services: Iterable[str], timeout_s: float = HEALTHY_TIMEOUT_S) -> str | None:
    """None once every service is healthy (one-shots: exited 0); else what was not."""
    deadline = time.monotonic() + timeout_s
    waiting: dict[str, str] = {}
    while time.monotonic() < deadline:
        waiting = {}
        for service in services:
            wanted = "exited 0" if service in ONE_SHOTS else "healthy"
            states = [state_of(c) for c in containers(service)] or ["missing"]
            if any(s != wanted for s in states):
                waiting[service] = ",".join(states)
        if not waiting:
            return None
        time.sleep(5)
    return ", ".join(f"{s}: {st}" for s, st in waiting.items())


def produce(topic: str, events: Iterable[dict[str, Any]]) -> None:
    """``streamwise produce TOPIC FILE`` in a container of the image, as a user runs it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{topic}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        path.chmod(0o644)
        Path(folder).chmod(0o755)
        compose(
            "run",
            "--rm",
            "--no-deps",
            "-v",
            f"{folder}:/in:ro",
            "topics",
            "produce",
            topic,
            f"/in/{topic}.jsonl",
        )


def purchase(txn_id: str, card: str, place: Place, ts: datetime) -> dict[str, Any]:
    """A card-present purchase of ``card`` in ``place`` at ``ts``."""
    lat, lon, country, city = place
    return {"txn_id": txn_id, "card_id": card, "ts": ts.isoformat(), "lat": lat, "lon": lon,
            "amount": 10.0, "currency": "EUR", "merchant": f"Shop in {city}",
            "country": country, "channel": "card_present"}  # fmt: skip


def read_topic(
    topic: str, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float
) -> list[dict[str, Any]]:
    """Every record of ``topic`` from the start, until ``done`` or the timeout."""
    consumer = Consumer(
        {
            "bootstrap.servers": BROKER,
            "group.id": f"e2e-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not done(records):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None and message.value():
                records.append(json.loads(message.value()))
    finally:
        consumer.close()
    return records


def get_status(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def ollama_chats() -> int:
    """Chat requests the Ollama container has answered (its request log)."""
    (container,) = containers("ollama")
    logs = subprocess.run(["docker", "logs", container], check=True, capture_output=True, text=True)
    return (logs.stdout + logs.stderr).count('"/api/chat"')


def metrics_of(container: str) -> str:
    port = subprocess.run(
        ["docker", "exec", container, "sh", "-c", "cat /data/run/*.metrics-port"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())
