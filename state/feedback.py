"""Typed views over the feedback pipeline's Quix state: the analysis cache, the alert history.

The analysis cache's state is keyed by the hash of the masked text (the pipeline
repartitions by it), so every duplicate of a text, whatever its feedback id, meets the
same entries. Within a text, entries are keyed by the analyzer's identity (kind, prompt
or head version, model ids): a new prompt or model misses the cache instead of reusing a
stale answer. Next to them, a count of the text's items in flight (sent to be analyzed,
answer not back yet) keeps later copies of the text behind them. Entries are written
with an event-time TTL, so a text unseen that long is forgotten. The alert history is
one small record shared by all windows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quixstreams.state.base import State

JsonDict = dict[str, Any]


class AnalysisCache:
    """Cached analyses of one text. Build one per message; never keep it."""

    _PREFIX = "analysis:"
    _IN_FLIGHT = "in_flight"

    def __init__(self, state: State[str, Any], ttl: timedelta | None) -> None:
        self._state, self._ttl = state, ttl

    def get(self, identity: str) -> JsonDict | None:
        """The analysis ``identity`` produced for this text, if cached."""
        cached: JsonDict | None = self._state.get(self._PREFIX + identity)
        return cached

    def put(self, identity: str, analysis: JsonDict) -> None:
        self._state.set(self._PREFIX + identity, analysis, ttl=self._ttl)

    def in_flight(self) -> int:
        """How many items of this text wait for an analysis (the feedback batcher's)."""
        count: int = self._state.get(self._IN_FLIGHT, 0)
        return count

    def set_in_flight(self, count: int) -> None:
        if count:  # with the TTL too: Quix warns when a store mixes TTL and plain records
            self._state.set(self._IN_FLIGHT, count, ttl=self._ttl)
        else:
            self._state.delete(self._IN_FLIGHT)


class AlertHistory:
    """What the feedback alert rules remember between windows: trailing category counts
    and the issues currently alerting (so an ongoing issue alerts once, not every window).

    All windows share one key (the pipeline groups them), so this is one small record.
    """

    _WINDOWS = "windows"
    _EPISODES = "open_episodes"
    _LAST = "last_window_start"

    def __init__(self, state: State[str, Any]) -> None:
        self._state = state

    def past_category_counts(self) -> list[dict[str, int]]:
        windows: list[dict[str, int]] = self._state.get(self._WINDOWS, [])
        return windows

    def last_window_start(self) -> int | None:
        last: int | None = self._state.get(self._LAST)
        return last

    def open_episodes(self) -> set[str]:
        return set(self._state.get(self._EPISODES, []))

    def record(
        self, start_ms: int, categories: dict[str, int], episodes: set[str], keep: int
    ) -> None:
        """Append a closed window (keeping the ``keep`` latest) and the episodes now open."""
        windows = [*self.past_category_counts(), dict(categories)][-keep:]
        self._state.set(self._WINDOWS, windows)
        self._state.set(self._EPISODES, sorted(episodes))
        self._state.set(self._LAST, start_ms)
