"""``make e2e``: the compose stack users run, built here and attacked through its containers.

Runs ``docker-compose.yml`` with ``deploy/compose.e2e.yml`` (host networking only) on the
images built with no registry, then checks, through the containers only, what a user
meets: the stack turns healthy; a generated stream with ground truth sent by
``streamwise produce`` in a container gives exactly the expected fraud alerts; feedback is
enriched; ``serve`` answers over HTTP citing the right document, the LLM answering through
the Ollama container; fraud scaled to three replicas loses no alert when one is SIGKILLed
mid-stream; a stop and start of the whole stack keeps state and repeats no alert; every
pipeline container serves its metrics; the cdc profile carries a customer row from
PostgreSQL through Debezium into a fraud alert. One line per check, then ``N passed, N failed``.

    .venv/bin/python deploy/e2e.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.e2e_cdc import cdc_environment, check_cdc
from deploy.stack import (
    DASHBOARD,
    LONDON,
    ONE_SHOTS,
    PARIS,
    SERVE,
    Place,
    compose,
    containers,
    default_services,
    get_status,
    make_tokens,
    metrics_of,
    ollama_chats,
    pipeline_services,
    produce,
    purchase,
    read_topic,
    render,
    wait_healthy,
)
from pipelines.fraud.generator import GeneratedStream, generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL

REFUNDS = "Refunds are paid within 30 days of the returned item reaching our warehouse."
OTHER_DOCS = {
    "shipping": "Standard shipping takes 3 to 5 working days. Express shipping arrives next day.",
    "warranty": "Electronics carry a two-year warranty. Keep the receipt as proof of purchase.",
}


@dataclass
class Report:
    """The checks run so far, printed as they finish."""

    results: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.results.append((name, passed, detail))
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}", flush=True)
        return passed

    def summary(self) -> str:
        passed = sum(ok for _, ok, _ in self.results)
        return f"{passed} passed, {len(self.results) - passed} failed"


def fraud_stream(seed: int) -> GeneratedStream:
    """Cards whose activity starts a minute from now, so profiles sent now precede it."""
    return generate(n_cards=80, days=1, seed=seed, start=datetime.now(UTC) + timedelta(minutes=1))


def wanted_alerts(stream: GeneratedStream) -> int:
    return len(stream.expected) + sum(len(b) for b in stream.expected_velocity.values())


def travel_ids(alerts: list[dict[str, Any]]) -> list[str]:
    return [a["alert_id"] for a in alerts if a["rule"] == IMPOSSIBLE_TRAVEL]


def send_fraud(stream: GeneratedStream, start: int = 0, end: int | None = None) -> None:
    if start == 0:
        produce("customers", [c.to_json_dict() for c in stream.customers])
    produce("transactions", [t.to_json_dict() for t in stream.transactions[start:end]])


def check_alerts(report: Report, name: str, streams: list[GeneratedStream]) -> bool:
    expected = set().union(*(s.expected for s in streams))
    want = sum(wanted_alerts(s) for s in streams)
    alerts = read_topic("fraud-alerts", lambda r: len({a["alert_id"] for a in r}) >= want, 600)
    found = set(travel_ids(alerts))
    hits = found & expected
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(expected) if expected else 1.0
    detail = (
        f"{len(found)} impossible-travel alerts, {len(expected)} expected (precision "
        f"{precision:.2f}, recall {recall:.2f}); {len(alerts)} records in all"
    )
    return report.check(name, (precision, recall) == (1.0, 1.0), detail)


def ask(question: str, min_versions: dict[str, int], token: str) -> dict[str, Any]:
    body = json.dumps({"text": question, "min_versions": min_versions, "timeout_s": 120})
    request = urllib.request.Request(
        f"{SERVE}/v1/ask",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=150) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


RESTART_CARD = "card-e2e-restart"
_T0 = datetime.now(UTC) + timedelta(days=2)  # after every generated transaction


def spot(txn_id: str, place: Place, at_s: float) -> dict[str, Any]:
    """A card-present purchase of ``RESTART_CARD`` (no profile: no travel notice)."""
    return purchase(txn_id, RESTART_CARD, place, _T0 + timedelta(seconds=at_s))


def check_http(report: Report, staff: str, now: datetime) -> None:
    """serve answers over HTTP through the Ollama container; the dashboard wants staff."""
    docs = {"refunds": REFUNDS, **OTHER_DOCS}
    produce(
        "kb-changes",
        [
            {
                "doc_id": d,
                "version": 1,
                "op": "upsert",
                "title": d.title(),
                "text": text,
                "ts": now.isoformat(),
            }
            for d, text in docs.items()
        ],
    )
    chats_before = ollama_chats()
    answer = ask("How many days until my refund is paid?", {"refunds": 1}, staff)
    cited = [c["doc_id"] for c in answer.get("citations", [])]
    chats = ollama_chats() - chats_before
    report.check(
        "serve answers citing the right document (LLM on the Ollama container)",
        answer.get("status") == "ok" and cited[:1] == ["refunds"] and chats > 0,
        f"[{answer.get('status')}] {str(answer.get('answer'))[:80]!r} cites {cited};"
        f" Ollama served {chats} chat request(s) meanwhile",
    )

    statuses = (
        get_status(f"{DASHBOARD}/api/summary", None),
        get_status(f"{DASHBOARD}/api/summary", staff),
    )
    report.check(
        "the dashboard wants a staff token (401 without, 200 with)",
        statuses == (401, 200),
        f"/api/summary {statuses[0]} without, {statuses[1]} with a staff token",
    )


def run(report: Report) -> None:
    staff = make_tokens()
    cdc_environment()
    render()
    services = default_services()
    started = time.monotonic()
    compose("up", "-d", "--no-build")
    waiting = wait_healthy(services)
    report.check(
        "stack healthy",
        waiting is None,
        waiting or f"{len(services)} services in {time.monotonic() - started:.0f} s",
    )
    if waiting is not None:
        return

    first = fraud_stream(seed=101)
    send_fraud(first)
    check_alerts(report, "fraud alerts match the ground truth", [first])

    now = datetime.now(UTC)
    items = [
        {
            "feedback_id": f"e2e-{i}",
            "ts": (now + timedelta(seconds=i)).isoformat(),
            "source": "email",
            "text": text,
        }
        for i, text in enumerate(
            [
                "My parcel arrived 8 days late and the box was damaged.",
                "Lukas from support was friendly and solved my issue in minutes.",
                "Way too expensive compared to last year.",
            ]
        )
    ]
    produce("feedback", items)
    enriched = read_topic("feedback-enriched", lambda r: len(r) >= len(items), 300)
    report.check(
        "feedback enriched",
        len(enriched) >= len(items),
        f"{len(enriched)} of {len(items)} items, sentiments "
        f"{sorted(e.get('sentiment', '?') for e in enriched)}",
    )

    check_http(report, staff, now)

    compose("up", "-d", "--no-build", "--no-recreate", "--scale", "fraud=3")
    waiting = wait_healthy(["fraud"])
    replicas = containers("fraud")
    second = fraud_stream(seed=202)
    half = len(second.transactions) // 2
    send_fraud(second, 0, half)
    subprocess.run(["docker", "kill", "-s", "KILL", replicas[0]], check=True, capture_output=True)
    send_fraud(second, half)
    check_alerts(
        report,
        f"fraud x{len(replicas)}, one SIGKILLed mid-stream: no alert missing",
        [first, second],
    )
    compose("up", "-d", "--no-build", "--no-recreate", "--scale", "fraud=3")

    # London now; Paris 40 s later after the restart: an alert only if state survived.
    produce("transactions", [spot("e2e-restart-1", LONDON, 0)])
    time.sleep(10)
    compose("stop")
    compose("start")
    waiting = wait_healthy([s for s in services if s not in ONE_SHOTS])
    report.check("stop and start of the whole stack", waiting is None, waiting or "healthy again")
    produce("transactions", [spot("e2e-restart-2", PARIS, 40)])
    expected = first.expected | second.expected

    def complete(records: list[dict[str, Any]]) -> bool:
        cards = {a["card_id"] for a in records}
        return RESTART_CARD in cards and len(set(travel_ids(records))) > len(expected)

    alerts = read_topic("fraud-alerts", complete, 180)
    across = [a for a in alerts if a["card_id"] == RESTART_CARD]
    report.check(
        "card state survives the restart (London before, Paris 40 s after)",
        len(across) == 1,
        f"{len(across)} alert(s) for the pair spanning the restart",
    )
    ids = travel_ids([a for a in alerts if a["card_id"] != RESTART_CARD])
    report.check(
        "no alert repeats under a new id after the restart",
        set(ids) == expected,
        f"{len(set(ids))} distinct travel alerts, {len(expected)} expected",
    )

    scraped = {
        c[:12]: "streamwise_messages_in_total" in metrics_of(c)
        for p in pipeline_services()
        for c in containers(p)
    }
    report.check(
        "metrics scraped from every pipeline container",
        all(scraped.values()),
        f"{sum(scraped.values())} of {len(scraped)} containers",
    )
    check_cdc(report)


def main() -> int:
    report = Report()
    try:
        run(report)
    except (subprocess.CalledProcessError, OSError) as exc:
        report.check("e2e ran to the end", False, f"{type(exc).__name__}: {exc}")
    print(report.summary(), flush=True)
    return 0 if report.results and all(ok for _, ok, _ in report.results) else 1


if __name__ == "__main__":
    sys.exit(main())
