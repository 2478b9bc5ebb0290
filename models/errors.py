"""Errors a pipeline routes on when a model call fails.

The split is by what the caller must do, not by where the failure came from:

* ``ModelUnavailable``: the model could not answer right now (server down, timeout,
  overloaded). Transient: back off and retry; the message is never dead-lettered.
* ``ModelOutputInvalid``: the model answered, but not with what was asked for. The same
  input will fail the same way, so the message goes to the DLQ with ``reason``.
* ``ModelConfigError``: the adapter is misconfigured (missing weights, unknown model or
  backend). Retrying cannot help; fail fast at start-up.
"""

from __future__ import annotations

_RAW_PREVIEW_CHARS = 200


class ModelError(Exception):
    """Base class of every error raised by the ``models`` package."""


class ModelUnavailable(ModelError):
    """The model could not be reached or did not answer in time (transient)."""


class ModelConfigError(ModelError):
    """The adapter cannot work as configured: bad path, unknown model or backend."""


class ModelOutputInvalid(ModelError):
    """The model answered with text that is not JSON or does not match the schema.

    ``raw`` is the exact text the model produced, kept for the dead-letter record;
    ``reason`` says what was wrong with it.
    """

    def __init__(self, raw: str, reason: str) -> None:
        # Both go to ``args`` so the error survives pickling (multiprocessing, DLQ tooling).
        super().__init__(raw, reason)
        self.raw = raw
        self.reason = reason

    def __str__(self) -> str:
        preview = self.raw[:_RAW_PREVIEW_CHARS]
        return f"model output invalid: {self.reason} (raw output: {preview!r})"
