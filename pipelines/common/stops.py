"""Why a pipeline stopped, in the one line an operator can act on.

Quix raises what its clients raised: a 20-line ``KafkaBrokerUnavailableError``, a
producer's delivery timeout, RocksDB's ``No space left on device``. ``explain`` turns
what it knows about into the cause and the remedy; the CLI prints that, never a
traceback (see ``pipelines.cli.EXPECTED_ERRORS``).
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from quixstreams.kafka.exceptions import (
    BaseKafkaException,
    KafkaBrokerUnavailableError,
    KafkaProducerDeliveryError,
)

from pipelines.common.admin import BrokerUnreachable
from pipelines.common.outage import CONNECTION_CODES, BrokerOutage, outage_budget_s
from pipelines.common.settings import StreamwiseSettings


class StateDiskFull(OSError):
    """The state volume has no room left: RocksDB cannot write the pipeline's state."""


KAFKA_ERRORS = (KafkaException, BaseKafkaException)
"""What a Kafka client raises. While the brokers are gone any of them is the outage: under
exactly-once Quix's exit aborts the transaction, and that abort times out too, raising in
place of Quix's own broker-availability error (which is lost, not chained)."""


def explain(
    exc: Exception, settings: StreamwiseSettings, outage: BrokerOutage | None
) -> Exception | None:
    """The one-line cause behind what Quix raised, when there is one to tell."""
    changed = outage.changed_cluster() if outage is not None else None
    if changed is not None:  # whatever failed against it, that is why
        return changed
    cut_off = outage is not None and outage.ongoing
    if _gave_up_on_the_broker(exc) or (cut_off and _from_a_kafka_client(exc)):
        return BrokerUnreachable(
            f"the broker {settings.broker} was unreachable for more than "
            f"{outage_budget_s(settings):.0f} s; stopped without committing: start the "
            "pipeline again once the broker is back, it resumes where it stopped"
        )
    lost = lost_broker(exc, settings)
    if lost is not None:
        return lost
    if "No space left on device" in str(exc):
        return StateDiskFull(
            f"the state directory {settings.state_dir} is full (No space left on "
            "device); stopped without committing: free or grow the volume and start "
            "again, the state is restored from the changelog"
        )
    return None


def _from_a_kafka_client(exc: BaseException) -> bool:
    """Raised by a Kafka client: its own errors, or the ``SystemError`` confluent-kafka
    raises when a rebalance callback failed inside ``consume`` (seen once in ten broker
    kills during a pipeline's start, the callback's own error lost)."""
    return isinstance(exc, KAFKA_ERRORS) or (
        isinstance(exc, SystemError) and "cimpl.Consumer" in str(exc)
    )


def _gave_up_on_the_broker(exc: BaseException) -> bool:
    """Quix's broker-availability timeout, or an output the broker did not take within the
    budget (``message.timeout.ms``)."""
    if isinstance(exc, KafkaBrokerUnavailableError):
        return True
    error = exc.args[0] if isinstance(exc, KafkaProducerDeliveryError) and exc.args else None
    return isinstance(error, KafkaError) and error.code() == KafkaError._MSG_TIMED_OUT


def lost_broker(exc: BaseException, settings: StreamwiseSettings) -> BrokerUnreachable | None:
    """A Kafka call that failed for want of a broker, before the outage tracker could tell
    (a broker gone while the pipeline starts: Quix creating its changelog topics)."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if not isinstance(error, KafkaError) or error.code() not in _NO_BROKER:
        return None
    return BrokerUnreachable(
        f"the broker {settings.broker} stopped answering ({error.str()}); nothing was "
        "committed: start again once it is reachable"
    )


_NO_BROKER = CONNECTION_CODES | {KafkaError._TIMED_OUT}
