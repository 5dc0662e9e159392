"""Dense channel: a sentence-transformers bi-encoder producing normalised vectors."""

from __future__ import annotations

import numpy as np

from ragate.retrieval.model_paths import ModelLoadError, pick_device, resolve_model


class Embedder:
    def __init__(self, model: str, device: str = "auto", batch_size: int = 64, config_key: str = "embedder.model"):
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.device = pick_device(device)
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(resolve_model(model), device=self.device)
        except Exception as e:  # the library raises many types for a missing or broken model
            raise ModelLoadError(model, e, config_key) from None
        self.dim = int(self.model.get_embedding_dimension())

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        ).astype(np.float32, copy=False)
