"""Model metering: adapters wrapped so every call is timed and every failure counted.

``backends`` wraps each embedder and chat model it builds, so any pipeline's model
calls feed ``streamwise_model_latency_seconds`` and ``streamwise_model_errors_total``
(defined with the other metrics in ``metrics``) without knowing about metrics. The
wrappers change no behaviour: answers and exceptions pass through as they are.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

from models.embeddings import Embedder, TokenEmbedder, TokenVectors
from models.llm import ChatModel, JsonObject
from pipelines.common.metrics import MODEL_ERRORS, MODEL_LATENCY


@contextlib.contextmanager
def _model_call(model: str, operation: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        MODEL_ERRORS.labels(model, operation, type(exc).__name__).inc()
        raise
    finally:
        MODEL_LATENCY.labels(model, operation).observe(time.perf_counter() - started)


class MeteredEmbedder:
    """An ``Embedder`` that times every call and counts its errors; behaviour unchanged."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with _model_call(self.model_id, "embed"):
            return self._inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        """Not timed: a tokenizer lookup, not a model call."""
        return self._inner.count_tokens(text)


class MeteredTokenEmbedder(MeteredEmbedder):
    """A metered ``TokenEmbedder``: its token pass is timed like ``embed``."""

    def __init__(self, inner: TokenEmbedder) -> None:
        super().__init__(inner)
        self._token_inner = inner

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        with _model_call(self.model_id, "embed"):
            return self._token_inner.embed_tokens(texts)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Not timed: a tokenizer lookup, not a model call."""
        return self._token_inner.token_ids(texts)


class MeteredChatModel:
    """A ``ChatModel`` that times every completion and counts its errors; behaviour unchanged."""

    def __init__(self, inner: ChatModel) -> None:
        self._inner = inner
        self.model_id = inner.model_id

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        with _model_call(self.model_id, "complete_json"):
            return self._inner.complete_json(system, user, schema)
