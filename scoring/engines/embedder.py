"""The bi-encoder on the CPU engines the cross-encoder uses (scoring/engines/cpu_engines.py).

Its graph is sentence-transformers' own modules (transformer, pooling, normalisation) from token
tensors to the sentence embedding, so an exported engine pools exactly as `encode` does.
`backend = "auto"` measures every candidate on built-in texts once per model and machine and keeps
the fastest whose vectors stay at cosine >= 0.99 with PyTorch's for every text
(scoring/engines/choice.py). The int8 engines are not candidates (they can still be configured by
name): on 300 SciFact abstracts they keep cosine >= 0.99 yet change 6% of each text's ten nearest
neighbours, where bf16 changes 0.4% (bench/RESULTS.md), and a vector stored in the index outlives
the engine that made it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ragate.retrieval.embedder import Embedder
from ragate.scoring.engines import choice as engine_choice
from ragate.scoring.engines.cpu_engines import cpu_runner, resolve
from ragate.scoring.engines.int8_calibration import builtin_texts
from ragate.scoring.engines.onnx_export import GraphSource
from ragate.scoring.engines.runners import cpu_threads

log = logging.getLogger(__name__)

AUTO_CANDIDATES = ("torch", "onnx", "openvino", "openvino-bf16")
AUTO_CHECK_TEXTS = 96  # texts timed and compared per candidate when `auto` measures


def graph_source(embedder: Embedder) -> GraphSource:
    """The embedder's SentenceTransformer, whose first module is a Hugging Face transformer, as a
    module from token tensors (positional, in `input_names` order) to the sentence embedding."""
    import torch  # here, not at import: the CLI's light commands load no model

    model, names = embedder.model, tuple(embedder.input_names)

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tokens: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, tokens, strict=True)))["sentence_embedding"]

    return GraphSource(SentenceEmbedding(), model[0].auto_model, names, "sentence_embedding", "embedder")


def apply_engine(embedder: Embedder, *, backend: str, cache_dir: str | Path | None, measure: str = "at_load") -> None:
    """Run `embedder` on `backend` (`auto`: measured, PyTorch off the CPU; with `measure =
    "background"` a first start embeds in PyTorch until the verdict is in); an engine that cannot
    be exported leaves it in PyTorch, and its `engine_reason` says why. Exports and verdicts go to
    `cache_dir`."""
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    later = _switching(embedder, cache_dir) if measure == "background" else None
    embedder.engine_measurement = later
    runner, reason = resolve(
        backend,
        embedder.device,
        label="embedder",
        auto=lambda: _auto_engine(embedder, cache_dir, later),
        build=lambda b: _runner(embedder, b, cache_dir),
        torch=lambda: None,  # the embedder's own encode
    )
    embedder.use_engine(runner, reason)


def _runner(embedder: Embedder, backend: str, cache_dir: Path | None):
    def calibration() -> list[dict[str, np.ndarray]]:
        # One text per item, unpadded: the ranges seen are those of real tokens.
        return [embedder.tokens([t]) for t in builtin_texts()]

    return cpu_runner(backend, graph_source(embedder), cache_dir, threads=0, calibration=calibration)


def _auto_engine(embedder: Embedder, cache_dir: Path | None, later: engine_choice.Later | None) -> tuple[str, str]:
    """The fastest CPU engine that keeps the vectors, measured once per model and machine."""
    if cache_dir is None:
        return "torch", "no cache directory for exported engines"
    texts = builtin_texts(AUTO_CHECK_TEXTS, seed=1)

    def build(backend: str):
        runner = None if backend == "torch" else _runner(embedder, backend, cache_dir)
        return lambda: embedder.encode_on(texts, runner)

    embedder.engine_verdict_path = cache_dir / f"{graph_source(embedder).fingerprint()}.engine.json"
    return engine_choice.choose(
        embedder.engine_verdict_path,
        threads=cpu_threads(),
        candidates=AUTO_CANDIDATES,
        build=build,
        bar=engine_choice.EMBEDDINGS,
        label="embedder",
        later=later,
    )


def remeasure(embedder: Embedder, *, cache_dir: str | Path | None) -> bool:
    """Measure the bi-encoder's CPU engines again in the background, embedding on the current one
    meanwhile; False when its engine was not chosen by `auto` on CPU."""
    if embedder.engine_verdict_path is None or embedder.engine_pending:
        return False
    embedder.engine_verdict_path.unlink(missing_ok=True)
    cache = Path(cache_dir) if cache_dir is not None else None
    embedder.engine_measurement = _switching(embedder, cache, prior_first=False)
    _auto_engine(embedder, cache, embedder.engine_measurement)
    return True


def _switching(embedder: Embedder, cache_dir: Path | None, *, prior_first: bool = True) -> engine_choice.Later:
    """A background measurement whose verdict (and first the prior, with `prior_first`) the
    embedder switches to."""

    def switch(engine: str, why: str) -> None:
        embedder.use_engine(None if engine == "torch" else _runner(embedder, engine, cache_dir), why)

    return engine_choice.Later(switch, prior_first=prior_first)
