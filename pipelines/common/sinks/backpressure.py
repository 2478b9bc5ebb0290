"""A sink's destination down: Quix backpressure, said once when it starts and once when it ends."""

from __future__ import annotations

import logging
import time

from quixstreams.sinks import SinkBackpressureError

from pipelines.common.outage import WAITING_OUT

logger = logging.getLogger(__name__)


class DestinationOutage:
    """A sink's outage as ``SinkBackpressureError``: Quix pauses the partitions, rewinds them to
    the last commit and retries after ``backoff_s``, so nothing is dropped. One line when the
    outage starts and one when it ends, not one per retry; meanwhile the process's
    ``WAITING_OUT`` names the sink's step (``/readyz`` answers 503)."""

    def __init__(self, step: str, destination: str, who: str, backoff_s: float) -> None:
        self._step, self._destination, self._who = step, destination, who
        self.backoff_s = backoff_s
        self._since: float | None = None

    def backpressure(self, reason: object) -> SinkBackpressureError:
        """The error to raise for this failed flush (the first one of an outage is logged)."""
        if self._since is None:
            self._since = time.monotonic()
            WAITING_OUT.started(self._step)
            logger.warning("%s unavailable: %s; %s pauses and retries every %.0f s, nothing is "
                           "dropped", self._destination, reason, self._who,
                           self.backoff_s)  # fmt: skip
        return SinkBackpressureError(retry_after=self.backoff_s)

    def available(self) -> None:
        """A flush went through: the outage, if there was one, is over."""
        if self._since is not None:
            logger.warning("%s reachable again after %.0f s", self._destination,
                           time.monotonic() - self._since)  # fmt: skip
            self._since = None
            WAITING_OUT.ended(self._step)
