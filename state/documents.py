"""A typed view over one document's Quix state in the knowledge sync: what the index holds.

Per document (the state is keyed by ``doc_id``) the sync keeps the version it last
applied, whether that was a deletion, the title (a delete event carries none) and
the ids of its chunks in order; each id ends with the chunk's content hash.
Values are plain JSON because Quix stores state with orjson.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quixstreams.state.base import State


@dataclass(frozen=True)
class AppliedDocument:
    """One document as the vector store holds it."""

    version: int
    deleted: bool
    title: str
    chunk_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "deleted": self.deleted,
            "title": self.title,
            "chunk_ids": list(self.chunk_ids),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AppliedDocument:
        return cls(
            version=int(raw["version"]),
            deleted=bool(raw["deleted"]),
            title=str(raw["title"]),
            chunk_ids=tuple(raw["chunk_ids"]),
        )


class DocumentState:
    """The applied version and chunks of the current message's document.

    Build one per message; never cache it: Quix binds state to the message's key.
    """

    _APPLIED = "applied"

    def __init__(self, state: State[str, Any]) -> None:
        self._state = state

    def applied(self) -> AppliedDocument | None:
        raw = self._state.get(self._APPLIED)
        return AppliedDocument.from_json(raw) if raw is not None else None

    def record(self, applied: AppliedDocument) -> None:
        self._state.set(self._APPLIED, applied.to_json())
