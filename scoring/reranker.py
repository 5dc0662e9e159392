"""The cross-encoder engine: reads query and passage together and returns one fp32 logit per pair.

Pairs are tokenized once, sorted by length and padded per batch (short pairs don't pay for long
ones), passages are truncated, never the query, and logits are returned in fp32 whatever
precision the model runs in, so calibrated probabilities keep their order."""

from __future__ import annotations

import logging
import threading
from typing import Sequence

import numpy as np

from retrieval.models import ModelLoadError, pick_device, resolve_model

log = logging.getLogger(__name__)

CONFIG_KEY = "reranker.model"


class CrossEncoderReranker:
    def __init__(self, model: str, device: str = "auto", max_length: int = 256, batch_size: int = 32,
                 precision: str = "fp32", threads: int = 0):
        import torch
        from sentence_transformers import CrossEncoder

        self.name = model
        self.device = pick_device(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.precision = precision
        if threads:
            torch.set_num_threads(threads)
        try:
            ce = CrossEncoder(resolve_model(model), device=self.device, max_length=max_length)
        except Exception as e:  # hub, IO and config errors all mean the same thing to the user
            raise ModelLoadError(model, e, CONFIG_KEY) from None
        if ce.model.config.num_labels != 1:
            raise ModelLoadError(model, f"expected a single-logit relevance head, found {ce.model.config.num_labels} labels", CONFIG_KEY)
        self.tokenizer = ce.tokenizer
        self.model = ce.model.eval()
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        if dtype != torch.float32:
            self.model = self.model.to(dtype)
        self._torch = torch
        # One forward pass at a time: concurrent callers share batches through the micro-batcher.
        self._lock = threading.Lock()

    def _encode(self, queries: Sequence[str], passages: Sequence[str]) -> list[dict]:
        # Cap the query at half the window so truncating only the passage always fits.
        q_ids = self.tokenizer(list(queries), add_special_tokens=False, truncation=True, max_length=self.max_length // 2)["input_ids"]
        q_text = self.tokenizer.batch_decode(q_ids)
        enc = self.tokenizer(q_text, list(passages), truncation="only_second", max_length=self.max_length, padding=False)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        return [{k: enc[k][i] for k in keys} for i in range(len(passages))]

    def score_pairs(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """One logit per (query, passage) pair, in input order."""
        if len(queries) != len(passages):
            raise ValueError("queries and passages must have the same length")
        n = len(passages)
        out = np.zeros(n, dtype=np.float32)
        if n == 0:
            return out
        features = self._encode(queries, passages)
        order = sorted(range(n), key=lambda i: len(features[i]["input_ids"]))
        torch = self._torch
        with self._lock, torch.inference_mode():
            for s in range(0, n, self.batch_size):
                idx = order[s:s + self.batch_size]
                batch = self.tokenizer.pad([features[i] for i in idx], return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                logits = self.model(**batch).logits.float().view(-1)
                out[idx] = logits.cpu().numpy()
        return out

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        return self.score_pairs([query] * len(passages), passages)
