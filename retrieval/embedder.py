"""Dense channel: a sentence-transformers bi-encoder producing normalised vectors.

It runs in PyTorch (sentence-transformers' own `encode`) unless an exported graph's runner is
handed to it (`use_engine`): the CPU engines and their `auto` choice live in
scoring/engines/embedder.py, which the model loader applies."""

from __future__ import annotations

import threading
from typing import Any, Literal

import numpy as np

from ragate.retrieval.errors import ModelLoadError
from ragate.retrieval.model_paths import pick_device, resolve_model

TextKind = Literal["query", "passage"]  # what an asymmetric model is told a text is
NO_PREFIXES: dict[TextKind, str] = {"query": "", "passage": ""}


def prefixed(texts: list[str], prefixes: dict[TextKind, str], kind: TextKind) -> list[str]:
    """The texts as an asymmetric model reads them: with the prefix set for their kind."""
    prefix = prefixes[kind]
    return [prefix + t for t in texts] if prefix else texts


class Embedder:
    def __init__(self, model: str, device: str = "auto", batch_size: int = 64, prefixes: dict[TextKind, str] | None = None):
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.prefixes = prefixes or NO_PREFIXES
        try:
            self.model = SentenceTransformer(resolve_model(model), device=self.device)
        except Exception as e:  # the library raises many types for a missing or broken model
            raise ModelLoadError(model, e, "embedder.model") from None
        self.dim = int(self.model.get_embedding_dimension())
        self.input_names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in self.tokenizer.model_input_names]
        self._lock = threading.Lock()  # one forward pass at a time on an exported graph
        self.runner = None  # None: PyTorch; else a runner whose forward(tokens) gives the embeddings
        self.engine_reason = "PyTorch"  # why this engine, in words, for `ragate stats`
        self.engine_measurement: Any = None  # a background measurement of its engines, while one runs
        self.engine_verdict_path: Any = None  # the stored `auto` verdict, when auto chose

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def kind(self) -> str:
        return self.runner.kind if self.runner is not None else "torch"

    @property
    def engine_pending(self) -> bool:
        return bool(self.engine_measurement is not None and self.engine_measurement.pending)

    def use_engine(self, runner, reason: str) -> None:
        """Embed with `runner` (None: PyTorch) from now on; `reason` says why it was chosen."""
        self.runner, self.engine_reason = runner, reason

    def tokens(self, texts: list[str]) -> dict[str, np.ndarray]:
        """sentence-transformers' own preprocessing (truncation, padding to the longest text)."""
        features = self.model.preprocess(texts)
        return {k: features[k].numpy().astype(np.int64, copy=False) for k in self.input_names}

    def encode(self, texts: list[str], kind: TextKind = "passage") -> np.ndarray:
        """Normalised vectors; `kind` says whether the texts are queries or passages (prefixed as set)."""
        return self.encode_on(prefixed(texts, self.prefixes, kind), self.runner)

    def encode_on(self, texts: list[str], runner) -> np.ndarray:
        """Normalised float32 vectors of `texts` computed by `runner` (None: PyTorch)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if runner is None:
            return self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            ).astype(np.float32, copy=False)
        # Batches as sentence-transformers makes them: longest texts first, each padded to its longest.
        order = np.argsort([-len(t) for t in texts])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(texts), self.batch_size):
            idx = order[s : s + self.batch_size]
            batch = self.tokens([texts[i] for i in idx])
            with self._lock:
                out[idx] = runner.forward(batch)
        # As encode(normalize_embeddings=True): torch.nn.functional.normalize, eps 1e-12.
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
