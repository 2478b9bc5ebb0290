"""Past fraud cases in the vector store: what triage recalls, with the verdicts they got.

One record per alert id: the case's text and vector, its rule, severity and time, and
once an analyst judged it, its latest verdict (``verdict``, ``verdict_ms``). The verdict
lives in the case's own metadata because the similar cases of an alert are other
alerts, of other cards, on other partitions: no per-key Quix state can reach them,
while one query of the collection returns each with its verdict.

A verdict can come before triage stored its alert's case (triage behind, or down, while
analysts work): it is then kept on a record of its own under the alert id, with a
placeholder vector and no ``ts_ms``, so that no similarity query (they all filter on
``ts_ms``) ever returns it; the case, once stored, takes the verdict over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from state.vectors import MetadataValue, StoredRecord, VectorCollection, VectorRecord

_VERDICT, _VERDICT_MS = "verdict", "verdict_ms"
_JUDGED = (_VERDICT, _VERDICT_MS)
_AWAITING = "a verdict awaiting its alert's case"


@dataclass(frozen=True)
class Case:
    """A similar earlier case: its alert id and its latest verdict (None: not judged)."""

    alert_id: str
    verdict: str | None


class CaseFile:
    """The cases of one vector collection, keyed by alert id."""

    def __init__(self, collection: VectorCollection) -> None:
        self._cases = collection

    def similar(
        self, vector: Sequence[float], *, before_ms: int, k: int, exclude: str
    ) -> list[Case]:
        """The ``k`` cases nearest ``vector`` among those stamped before ``before_ms``, best
        first, never ``exclude`` (the alert asking)."""
        hits = self._cases.query(vector, k=k + 1, where={"ts_ms": {"$lt": before_ms}})
        return [Case(hit.id, _verdict(hit.metadata)) for hit in hits if hit.id != exclude][:k]

    def remember(
        self,
        alert_id: str,
        vector: Sequence[float],
        text: str,
        metadata: dict[str, MetadataValue],
    ) -> None:
        """Store the case of ``alert_id``; a redelivered alert keeps the verdict it has."""
        kept = {key: value for key, value in self._metadata(alert_id).items() if key in _JUDGED}
        self._cases.upsert([VectorRecord(alert_id, vector, text, {**metadata, **kept})])

    def judge(self, alert_id: str, verdict: str, ts_ms: int) -> None:
        """Keep ``verdict`` on the case of ``alert_id``, unless a later one is kept already."""
        found = self._cases.get(ids=[alert_id], with_vectors=True)
        stored = found[0] if found else StoredRecord(alert_id, _AWAITING, {})
        vector = stored.vector if stored.vector is not None else self._placeholder()
        kept_ms = stored.metadata.get(_VERDICT_MS)
        if isinstance(kept_ms, int) and kept_ms > ts_ms:
            return
        metadata = {**stored.metadata, _VERDICT: verdict, _VERDICT_MS: ts_ms}
        self._cases.upsert([VectorRecord(alert_id, vector, stored.document, metadata)])

    def _placeholder(self) -> tuple[float, ...]:
        """The vector of a verdict awaiting its case: any valid one (it is never queried for)."""
        return (1.0,) + (0.0,) * (self._cases.dimension - 1)

    def _metadata(self, alert_id: str) -> dict[str, MetadataValue]:
        found = self._cases.get(ids=[alert_id])
        return found[0].metadata if found else {}


def _verdict(metadata: dict[str, MetadataValue]) -> str | None:
    verdict = metadata.get(_VERDICT)
    return verdict if isinstance(verdict, str) else None
