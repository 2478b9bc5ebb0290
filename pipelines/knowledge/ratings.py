"""What ``serve`` needs to take ratings: who each recent answer belongs to, and the request.

``serve`` knows who asked because it published the question itself: it remembers, for
each answer it returned, the customer the question was for (or, asked by a ``customer:``
token without one, that token's customer). So a rating is taken only for an answer
this process returned since it started, among its latest ``RecentAnswers.capacity``:
an id it does not hold is ``404``. Reading ``questions`` instead would take a consumer
and a store of every question for as long as ratings may come, in every replica; a
bounded map is exact for what it holds and costs a few MB. The limit: behind a load
balancer, a rating must reach the replica that answered (sticky sessions), and a
restart forgets the answers before it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from pipelines.common.auth import STAFF, Principal
from pipelines.common.events import AnswerRating

RATING_REQUEST = {
    "type": "object",
    "required": ["rating"],
    "properties": {"rating": {"enum": ["up", "down"]}, "comment": {"type": "string"}},
    "additionalProperties": False,
}
"""The rating body in ``/openapi.json``; ``parse_rating`` does the checking."""


class BadRating(ValueError):
    """The request body is not a rating."""


@dataclass(frozen=True)
class Asked:
    """Whose an answered question is: the customer it was for; None: no one (staff only)."""

    customer_id: str | None

    @classmethod
    def by(cls, customer_id: str | None, principal: Principal | None) -> Asked:
        """The customer asked for, else the asking ``customer:`` token's own."""
        return cls(customer_id or (principal.customer_id if principal else None))

    def may_be_rated_by(self, principal: Principal | None) -> bool:
        """Staff rate any answer, a customer token only its customer's (None: no tokens file)."""
        return (
            principal is None
            or principal.scope == STAFF
            or (principal.customer_id == self.customer_id)
        )


class RecentAnswers:
    """The latest ``capacity`` answered question ids and whose they are (thread-safe)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._owners: OrderedDict[str, Asked] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, question_id: str, asked: Asked) -> None:
        with self._lock:
            self._owners[question_id] = asked
            while len(self._owners) > self.capacity:
                self._owners.popitem(last=False)

    def asked(self, question_id: str) -> Asked | None:
        """Whose ``question_id``'s answer is; None if this process does not hold it."""
        with self._lock:
            return self._owners.get(question_id)


def parse_rating(question_id: str, data: dict[str, Any]) -> AnswerRating:
    """The ``answer-ratings`` event of a ``{"rating": "up"|"down", "comment"?}`` body, now."""
    unknown = set(data) - {"rating", "comment"}
    if unknown:
        msg = f"unknown fields {sorted(unknown)!r:.80}: a rating has 'rating' and 'comment'"
        raise BadRating(msg)
    try:
        return AnswerRating(question_id=question_id, ts=datetime.now(UTC), **data)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        msg = f"invalid rating: {reasons}"
        raise BadRating(msg) from exc
