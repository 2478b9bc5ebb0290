"""A realistic, seeded stream of customer feedback for the demo and the benchmark.

Texts are assembled from phrasings per (category, sentiment), with names, order numbers
and, now and then, an e-mail address, a phone or a card number the pipeline must mask.
An optional incident makes one category surge with complaints for a while, which is
what the emerging-issue alerts are for.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SOURCES = ("email", "chat", "app_review", "social", "survey")

PHRASES: dict[tuple[str, str], list[str]] = {
    ("delivery", "negative"): [
        "My parcel arrived {n} days late and the box was damaged.",
        "Order {order} still hasn't arrived, the tracking has not moved in a week.",
        "The courier left my package in the rain, everything was soaked.",
        "Delivery was supposed to be yesterday and nobody turned up. Very disappointed.",
    ],
    ("delivery", "positive"): [
        "Order {order} arrived a day early, well packed. Great delivery!",
        "Super fast shipping, the parcel came the next morning.",
    ],
    ("billing", "negative"): [
        "I was charged twice for order {order} and still have no refund.",
        "You billed my card twice this month, please fix it.",
        "My invoice shows the wrong amount again, this is unacceptable.",
        "Still waiting for my refund after {n} weeks. Awful.",
    ],
    ("billing", "neutral"): [
        "Can I get a copy of the invoice for order {order}?",
        "How do I change the card used for my subscription payments?",
    ],
    ("delivery", "neutral"): ["When will order {order} be delivered?"],
    ("product quality", "neutral"): ["Does the jacket also come in other colours?"],
    ("app/website", "neutral"): ["Is there a dark mode in the app?"],
    ("customer support", "neutral"): ["What are your support opening hours at the weekend?"],
    ("pricing", "neutral"): ["Do you offer a student discount?"],
    ("product quality", "negative"): [
        "The blender stopped working after {n} days.",
        "Cheap material, the handle broke the first time I used it.",
    ],
    ("product quality", "positive"): [
        "Absolutely love the new headphones, fantastic sound.",
        "Excellent quality, the jacket is warm and well made.",
    ],
    ("app/website", "negative"): [
        "The app crashes every time I open my basket.",
        "I cannot log in to my account since the last update.",
    ],
    ("app/website", "positive"): ["The new app is fast and really easy to use."],
    ("customer support", "positive"): [
        "{name} from support was friendly and solved my issue in minutes.",
        "Thanks {name}, great help on the chat today!",
    ],
    ("customer support", "negative"): [
        "I waited {n} hours on hold and nobody answered.",
        "The agent was rude and did not solve my problem.",
    ],
    ("pricing", "negative"): ["Way too expensive compared to last year."],
    ("pricing", "positive"): ["Good value for money, and the discount was a nice surprise."],
}
NAMES = ("Maria", "Tom", "Aisha", "Lukas", "Chen", "Sofia")
PII = (
    " You can reach me at {first}.{last}@example.com.",
    " Call me back on +44 20 7946 {four}.",
    " The card was 4111 1111 1111 1111.",
)
RATING = {"positive": (4, 5), "neutral": (3, 4), "negative": (1, 2)}
# Outside incidents most feedback is not a complaint: pick the sentiment first, then a topic.
SENTIMENT_WEIGHTS = {"positive": 0.55, "neutral": 0.2, "negative": 0.25}


@dataclass(frozen=True)
class Incident:
    """From ``start_s`` for ``duration_s``, ``share`` of all items complain about ``category``."""

    category: str
    start_s: float
    duration_s: float
    share: float = 0.6

    def active(self, at_s: float) -> bool:
        return self.start_s <= at_s < self.start_s + self.duration_s


def generate(
    count: int,
    *,
    start: datetime,
    spacing: timedelta,
    seed: int = 7,
    incident: Incident | None = None,
    unique: bool = False,
) -> Iterator[dict[str, Any]]:
    """``count`` feedback events, ``spacing`` apart from ``start``.

    ``unique`` appends a ticket reference so that no two texts repeat (the benchmark
    wants every item analysed, not served from the cache).
    """
    rng = random.Random(seed)
    topics = {s: sorted(c for c, sentiment in PHRASES if sentiment == s) for s in SENTIMENT_WEIGHTS}
    sentiments, weights = zip(*SENTIMENT_WEIGHTS.items(), strict=True)
    for i in range(count):
        at_s = (spacing * i).total_seconds()
        if incident is not None and incident.active(at_s) and rng.random() < incident.share:
            category, sentiment = incident.category, "negative"
        else:
            sentiment = rng.choices(sentiments, weights)[0]
            category = rng.choice(topics[sentiment])
        text = rng.choice(PHRASES[(category, sentiment)]).format(
            n=rng.randint(2, 9), order=rng.randint(10000, 99999), name=rng.choice(NAMES)
        )
        if rng.random() < 0.1:
            text += rng.choice(PII).format(
                first=rng.choice(NAMES).lower(), last="doe", four=rng.randint(1000, 9999)
            )
        if unique:
            text += f" (ticket {i})"
        event: dict[str, Any] = {
            "feedback_id": f"fb-{seed}-{i:06d}",
            "ts": (start + spacing * i).isoformat(),
            "source": rng.choice(SOURCES),
            "text": text,
            "customer_id": f"cust-{rng.randint(1, 500):04d}",
        }
        if rng.random() < 0.7:
            event["rating"] = rng.randint(*RATING[sentiment])
        yield event
