"""What one change does to the index (pure): which chunks to embed, reuse, delete.

Given the chunks of a new version and what the index holds for the document,
``plan_change`` returns the smallest set of writes that makes the index hold the
new version: chunks whose id (position and content hash) is unchanged are left
alone, chunks whose content only moved reuse their stored vector, only new
content is embedded, and chunks the new version lacks are deleted. A version at
or below the applied one is a duplicate or late CDC event and changes nothing,
which is also why replaying the topic leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.common.events import KbChange
from pipelines.knowledge.chunking import Chunk, hash_of
from state.documents import AppliedDocument


@dataclass(frozen=True)
class SyncPlan:
    """The writes that take one document from ``previous`` to ``applied``."""

    doc_id: str
    applied: AppliedDocument
    write: tuple[Chunk, ...] = ()
    reuse: dict[str, str] = field(default_factory=dict)  # new chunk id -> stored id, same text
    delete: tuple[str, ...] = ()

    @property
    def to_embed(self) -> tuple[Chunk, ...]:
        """Chunks with content the index has never held for this document."""
        return tuple(c for c in self.write if c.chunk_id not in self.reuse)


def plan_change(
    change: KbChange, chunks: Sequence[Chunk], previous: AppliedDocument | None
) -> SyncPlan | None:
    """The plan for ``change``; ``None`` when the index holds this version or a newer one."""
    if previous is not None and change.version <= previous.version:
        return None
    old_ids = previous.chunk_ids if previous is not None else ()
    if change.op == "delete":
        title = previous.title if previous is not None else ""
        applied = AppliedDocument(change.version, deleted=True, title=title, chunk_ids=())
        return SyncPlan(change.doc_id, applied, delete=old_ids)
    new_ids = tuple(c.chunk_id for c in chunks)
    kept = set(old_ids)
    write = tuple(c for c in chunks if c.chunk_id not in kept)
    stored_by_hash = {hash_of(old): old for old in old_ids}
    reuse = {
        c.chunk_id: stored_by_hash[c.content_hash]
        for c in write
        if c.content_hash in stored_by_hash
    }
    applied = AppliedDocument(
        change.version, deleted=False, title=change.title or "", chunk_ids=new_ids
    )
    return SyncPlan(
        change.doc_id,
        applied,
        write=write,
        reuse=reuse,
        delete=tuple(old for old in old_ids if old not in set(new_ids)),
    )
