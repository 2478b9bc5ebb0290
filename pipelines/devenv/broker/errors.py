"""Errors of the embedded brokers."""


class BrokerError(RuntimeError):
    """An embedded broker could not be prepared, started or reached."""
