"""Model adapters: sentence embeddings and chat models that answer in JSON.

Importing this package is cheap: torch, sentence-transformers, llama.cpp and the ollama
client load only when an adapter is built. Nothing here knows about Kafka or Quix.
"""

from models.embeddings import (
    DEFAULT_EMBED_MODEL_ID,
    Embedder,
    SentenceTransformerEmbedder,
    TokenEmbedder,
    TokenVectors,
    default_embed_model_path,
)
from models.errors import ModelConfigError, ModelError, ModelOutputInvalid, ModelUnavailable
from models.llm import (
    BACKENDS,
    DEFAULT_OLLAMA_HOST,
    ChatModel,
    JsonObject,
    LlamaCppChat,
    OllamaChat,
    default_llm_model_path,
    make_chat_model,
    validate_answer,
)
from models.lora import LowRankAdapter
from models.retry import Retry

__all__ = [
    "BACKENDS",
    "DEFAULT_EMBED_MODEL_ID",
    "DEFAULT_OLLAMA_HOST",
    "ChatModel",
    "Embedder",
    "JsonObject",
    "LlamaCppChat",
    "LowRankAdapter",
    "ModelConfigError",
    "ModelError",
    "ModelOutputInvalid",
    "ModelUnavailable",
    "OllamaChat",
    "Retry",
    "SentenceTransformerEmbedder",
    "TokenEmbedder",
    "TokenVectors",
    "default_embed_model_path",
    "default_llm_model_path",
    "make_chat_model",
    "validate_answer",
]
