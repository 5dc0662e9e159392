"""Dense channel on a model server ([embedder] provider = "http"): OpenAI-compatible
`/embeddings` (vLLM, Infinity, OpenAI itself: put `/v1` in the url where the server wants it),
TEI's `/embed` and Ollama's `/api/embed`. Vectors come back normalised, as the local embedder's do.

The server is asked nothing at start (a server that is down then is a failed call later, not a
failed start); the vector size is read from the first answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragate.retrieval.embedder import NO_PREFIXES, TextKind, prefixed
from ragate.retrieval.remote import JsonClient, RemoteSettings, field


@dataclass(frozen=True)
class EmbedApi:
    path: str
    body: Callable[[str, list[str]], dict[str, Any]]  # (model, texts) -> request
    vectors: Callable[[Any, int], list[Any]]  # (answer, texts sent) -> one vector per text, in order


def _openai_vectors(body: Any, n: int) -> list[Any]:
    rows = field(body, "data")
    if not isinstance(rows, list):
        raise ValueError("data is not a list")
    by_index = {field(r, "index"): field(r, "embedding") for r in rows}
    if sorted(by_index) != list(range(n)):
        raise ValueError(f"expected embeddings for indices 0..{n - 1}")
    return [by_index[i] for i in range(n)]


def _listed(body: Any, n: int) -> list[Any]:
    if not isinstance(body, list):
        raise ValueError("expected a list of vectors")
    return body


API = {
    "openai": EmbedApi("/embeddings", lambda model, texts: {"model": model, "input": texts}, _openai_vectors),
    "tei": EmbedApi("/embed", lambda model, texts: {"inputs": texts, "normalize": True, "truncate": True}, _listed),
    "ollama": EmbedApi(
        "/api/embed", lambda model, texts: {"model": model, "input": texts}, lambda b, n: _listed(field(b, "embeddings"), n)
    ),
}


class RemoteEmbedder:
    """The same surface the indexer and the dense channel use from the local Embedder."""

    device = "remote"
    tokenizer = None  # chunks are measured in the reranker's tokens, or in words
    engine_pending = False
    engine_verdict_path = None
    engine_measurement = None

    def __init__(
        self,
        api: str,
        model: str,
        remote: RemoteSettings,
        *,
        batch_size: int = 64,
        prefixes: dict[TextKind, str] | None = None,
        input_type: bool = False,
    ):
        self.name, self.model, self.api = f"http:{model or remote.url}", model, API[api]
        self.prefixes = prefixes or NO_PREFIXES
        self.input_type = input_type  # send `input_type`, for servers whose API takes it
        self.kind = f"http-{api}"
        self.engine_reason = f"http provider at {remote.url}"
        self.batch_size = batch_size
        self.client = JsonClient(remote, label=f"embedder {self.name}", stage="embed")
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.encode(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def _batch(self, texts: list[str], kind: TextKind) -> np.ndarray:
        def parse(answer: Any) -> np.ndarray:
            rows = self.api.vectors(answer, len(texts))
            try:
                out = np.asarray(rows, dtype=np.float32)
            except (TypeError, ValueError):
                raise ValueError("vectors are not lists of numbers of one length") from None
            if out.ndim != 2 or out.shape[0] != len(texts) or not np.isfinite(out).all():
                raise ValueError(f"expected {len(texts)} finite vectors, got shape {out.shape}")
            if self._dim is not None and out.shape[1] != self._dim:
                raise ValueError(f"vectors changed size from {self._dim} to {out.shape[1]}")
            return out

        body = self.api.body(self.model, texts) | ({"input_type": kind} if self.input_type else {})
        out = self.client.post(self.api.path, body, parse)
        with self._lock:
            self._dim = self._dim or int(out.shape[1])
        return out

    def encode(self, texts: list[str], kind: TextKind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        texts = prefixed(texts, self.prefixes, kind)
        out = np.concatenate([self._batch(texts[s : s + self.batch_size], kind) for s in range(0, len(texts), self.batch_size)])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def describe(self) -> dict[str, Any]:
        return self.client.describe()
