"""Origin headers: read back exactly, and absent ones leave a message's headers alone."""

from __future__ import annotations

from pipelines.common.origin import Origin, split_origin, without_origin

STAMPED = [
    ("trace", b"t-1"),
    ("streamwise.origin.topic", b"feedback"),
    ("streamwise.origin.partition", b"2"),
    ("streamwise.origin.offset", b"41"),
    ("streamwise.origin.key", b"fb-7"),
]


def test_split_origin_reads_the_stamp_and_returns_the_other_headers() -> None:
    origin, rest = split_origin(STAMPED)
    assert origin == Origin(key=b"fb-7", topic="feedback", partition=2, offset=41)
    assert rest == [("trace", b"t-1")]


def test_a_message_without_origin_keeps_its_headers() -> None:
    assert split_origin(None) == (None, [])
    assert split_origin([("trace", b"t-1")]) == (None, [("trace", b"t-1")])


def test_a_keyless_origin_has_no_key() -> None:
    origin, _ = split_origin([h for h in STAMPED if h[0] != "streamwise.origin.key"])
    assert origin is not None
    assert origin.key is None


def test_outputs_drop_the_origin() -> None:
    assert without_origin({}, b"k", 0, STAMPED) == [("trace", b"t-1")]
