"""Python that librdkafka calls from inside ``poll``/``consume``: no exception lost in it.

librdkafka runs the rebalance and statistics callbacks inside the client call that
serves them. When one raises and another runs before that call returns, the binding
Quix 3.28 pins (confluent-kafka-python < 2.13) loses the first exception: the call ends
in ``SystemError: <method 'consume' ...> returned NULL without setting an exception``
(confluent-kafka-python #729, #865) and the reason is gone. Seen once here, on a fraud
pipeline restarted after a SIGKILL under exactly-once. An observer (statistics for
metrics and outages) therefore never raises: its error is logged where it happens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def contained(callback: Callable[P, None]) -> Callable[P, None]:
    """``callback`` (an observer), its exception logged with the traceback and dropped."""

    @functools.wraps(callback)
    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            logger.exception("%s failed inside the Kafka client; ignored", callback.__name__)

    return call
