r"""Fraud: impossible travel and velocity per card, adjusted by the customer's profile.

transactions --join_asof(customers)--> check_travel (stateful per card) --> fraud-alerts
                                   \-> first-seen --sliding window--> judge_burst --> fraud-alerts
undecodable / invalid / failing --> fraud-dlq

Every time is event time (``ts``): late events are compared with their true
neighbours, duplicates are recognised by ``txn_id``, and alert ids depend only on
the evidence, so a replay or restart re-emits identical alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quixstreams.state import State

from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.events import Customer, FraudAlert, Transaction
from pipelines.common.pii import mask_pans
from pipelines.common.serialization import PoisonMessage
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.profile import apply_profile
from pipelines.fraud.rules import TravelRule, check_travel, velocity_alert
from pipelines.fraud.settings import FraudSettings
from state.cards import CardHistory, VelocityLedger


@dataclass(frozen=True)
class Scored:
    """A transaction after the per-card step: is it new, and what did it reveal?"""

    tx: Transaction
    profile: dict[str, Any] | None
    """The customer profile in force, as stored (validated only when an alert needs it)."""
    first_seen: bool
    alerts: list[FraudAlert] = field(default_factory=list)


def profile_of(profile: dict[str, Any] | None) -> Customer | None:
    """The stored profile as a ``Customer``: per alert, not per transaction (it is rare)."""
    return Customer.model_validate(profile) if profile is not None else None


def with_profile(
    tx: Transaction, profile: dict[str, Any] | None
) -> tuple[Transaction, dict[str, Any] | None]:
    """The as-of join's merge: a transaction and the profile in force at its event time."""
    return tx, profile


def publishable(alert: FraudAlert) -> FraudAlert:
    """Card numbers never leave in full: merchant and city text is free text."""
    return alert.model_copy(update={"reasons": [mask_pans(r) for r in alert.reasons]})


class FraudScorer:
    """The per-card rules, bound to settings; one instance per pipeline."""

    def __init__(self, settings: FraudSettings) -> None:
        self._settings = settings
        self._rule = TravelRule(
            max_speed_kmh=settings.max_speed_kmh,
            min_distance_km=settings.min_distance_km,
            keep_sightings=settings.keep_sightings,
        )

    def score(
        self,
        joined: tuple[Transaction, dict[str, Any] | None],
        key: Any,
        timestamp_ms: int,
        headers: Any,
        state: State[str, Any],
    ) -> Scored:
        """Impossible travel for one transaction; remembers it for later ones."""
        tx, profile = joined
        if key != tx.card_id.encode():
            msg = f"message key {key!r} is not the card_id {tx.card_id!r}: state would be mis-keyed"
            raise PoisonMessage(msg)
        history = CardHistory(state, ttl=self._settings.card_state_ttl)
        first_seen = not history.has_seen(tx.txn_id)
        alerts = check_travel(tx, history, self._rule)
        if alerts:
            customer = profile_of(profile)
            alerts = [apply_profile(alert, customer) for alert in alerts]
        return Scored(tx, profile, first_seen, alerts)

    def judge_burst(self, window: dict[str, Any], state: State[str, Any]) -> FraudAlert | None:
        """One alert per burst: a window over the limit that does not overlap an alerted one."""
        burst = window["value"]
        if len(burst["txn_ids"]) <= self._settings.velocity_max:
            return None
        start = datetime.fromtimestamp(window["start"] / 1000, UTC)
        end = datetime.fromtimestamp(window["end"] / 1000, UTC)
        ledger = VelocityLedger(state, ttl=self._settings.card_state_ttl)
        if not ledger.is_new_burst(start):
            return None
        ledger.record_burst(end)
        alert = velocity_alert(
            burst["card_id"],
            burst["txn_ids"],
            window_start=start,
            window_end=end,
            count=len(burst["txn_ids"]),
            limit=self._settings.velocity_max,
        )
        return apply_profile(alert, profile_of(burst["profile"]))


def _start_burst(scored: Scored) -> dict[str, Any]:
    return _add_to_burst({"txn_ids": []}, scored)


def _add_to_burst(burst: dict[str, Any], scored: Scored) -> dict[str, Any]:
    return {
        "card_id": scored.tx.card_id,
        "txn_ids": [*burst["txn_ids"], scored.tx.txn_id],
        "profile": scored.profile,
    }


def _alert_key(alert: FraudAlert) -> str:
    return alert.card_id


def build(papp: PipelineApp, settings: FraudSettings) -> None:
    """Declare the dataflow on ``papp``; nothing runs until ``papp.run()``."""
    app, scorer = papp.app, FraudScorer(settings)
    profiles = app.dataframe(papp.topic("customers")).apply(Customer.to_json_dict)
    transactions = app.dataframe(papp.topic("transactions")).join_asof(
        profiles, how="left", on_merge=with_profile, grace_ms=settings.profile_history
    )
    scored = transactions.apply(stage("check_travel", scorer.score), stateful=True, metadata=True)

    travel = scored.apply(lambda s: [publishable(a) for a in s.alerts], expand=True)
    papp.publish(travel, "fraud-alerts", key=_alert_key)

    bursts = (
        scored.filter(lambda s: s.first_seen)
        .sliding_window(duration_ms=settings.velocity_window, grace_ms=settings.late_grace)
        .reduce(reducer=_add_to_burst, initializer=_start_burst)
        .current()
    )
    velocity = bursts.apply(stage("judge_burst", scorer.judge_burst), stateful=True)
    papp.publish(velocity.filter(lambda a: a is not None).apply(publishable), "fraud-alerts",
                 key=_alert_key)  # fmt: skip


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run fraud``."""
    papp = make_app("fraud", settings)
    build(papp, FraudSettings())
    papp.run()
