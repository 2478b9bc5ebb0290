"""The sync plan is pure: what a change does to the index, given what the index holds."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.common.events import KbChange
from pipelines.knowledge.chunking import Chunk, chunk_document
from pipelines.knowledge.sync import plan_change
from state.documents import AppliedDocument


def words(text: str) -> int:
    return len(text.split())


def upsert(version: int, text: str, title: str = "Policy") -> tuple[KbChange, list[Chunk]]:
    change = KbChange(
        doc_id="doc", version=version, op="upsert", ts=datetime(2026, 11, 22, tzinfo=UTC),
        title=title, text=text,
    )  # fmt: skip
    return change, chunk_document("doc", title, text, words, max_tokens=60, overlap_tokens=8)


def delete(version: int) -> KbChange:
    return KbChange(
        doc_id="doc", version=version, op="delete", ts=datetime(2026, 11, 22, tzinfo=UTC)
    )


V1 = "# A\n\nfirst.\n\n# B\n\nsecond.\n\n# C\n\nthird."


def applied(version: int, text: str) -> AppliedDocument:
    change, chunks = upsert(version, text)
    plan = plan_change(change, chunks, None)
    assert plan is not None
    return plan.applied


def test_a_new_document_writes_and_embeds_every_chunk() -> None:
    change, chunks = upsert(1, V1)
    plan = plan_change(change, chunks, None)
    assert plan is not None
    assert plan.to_embed == tuple(chunks)
    assert plan.delete == ()
    assert plan.applied == AppliedDocument(1, False, "Policy", tuple(c.chunk_id for c in chunks))


def test_only_the_changed_chunk_is_written_and_its_old_version_deleted() -> None:
    before = applied(1, V1)
    change, chunks = upsert(2, V1.replace("second.", "second, revised."))
    plan = plan_change(change, chunks, before)
    assert plan is not None
    assert [c.position for c in plan.to_embed] == [1]
    assert plan.delete == (before.chunk_ids[1],)


def test_content_that_only_moved_reuses_its_vector() -> None:
    before = applied(1, V1)
    change, chunks = upsert(2, "# Z\n\nnew first.\n\n" + V1)
    plan = plan_change(change, chunks, before)
    assert plan is not None
    assert [c.text.split("\n\n")[-1] for c in plan.to_embed] == ["new first."]
    assert sorted(plan.reuse.values()) == sorted(before.chunk_ids)
    assert set(plan.delete) == set(before.chunk_ids)  # stored under their old positions


def test_older_and_equal_versions_change_nothing() -> None:
    before = applied(3, V1)
    for version in (2, 3):
        change, chunks = upsert(version, "something else entirely")
        assert plan_change(change, chunks, before) is None
    assert plan_change(delete(3), [], before) is None


def test_a_delete_removes_every_chunk_and_remembers_the_title() -> None:
    before = applied(1, V1)
    plan = plan_change(delete(2), [], before)
    assert plan is not None
    assert plan.delete == before.chunk_ids
    assert plan.write == ()
    assert plan.applied == AppliedDocument(2, True, "Policy", ())


def test_an_upsert_after_a_delete_writes_the_document_again() -> None:
    plan = plan_change(*upsert(3, V1), AppliedDocument(2, True, "Policy", ()))
    assert plan is not None
    assert len(plan.to_embed) == 3
