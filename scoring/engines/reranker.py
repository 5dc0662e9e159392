"""The cross-encoder engine: reads query and passage together and returns one fp32 logit per pair.

What makes it fast without changing the ranking:
- pairs are tokenized once, sorted by length and padded per batch (short pairs don't pay for
  long ones); passages are truncated, never the query;
- on CPU, a graph exported from the loaded weights: OpenVINO (fp32, bf16 where the CPU has it, or
  static int8 calibrated on pairs) or ONNX Runtime (fp32, dynamic int8, or static QDQ int8
  calibrated on pairs); `auto` measures which is fastest on this CPU
  while keeping the ranking (scoring/engines/choice.py); on GPU, PyTorch in fp16/bf16 with logits
  upcast to fp32 before they leave the device;
- an LRU cache of logits per (model, query, passage) (scoring/rerankers/base.py);
- optionally, one micro-batching worker shared by concurrent callers.
On CUDA out-of-memory the batch is halved and retried; at one pair it falls back to the CPU."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import ModelLoadError
from ragate.retrieval.model_paths import pick_device, resolve_model
from ragate.scoring.engines import choice as engine_choice
from ragate.scoring.engines.cpu_engines import cpu_runner, resolve
from ragate.scoring.engines.int8_calibration import builtin_pairs, check_pairs
from ragate.scoring.engines.microbatch import MicroBatcher
from ragate.scoring.engines.onnx_export import GraphSource
from ragate.scoring.engines.runners import OnnxRunner, OpenVinoRunner, TorchRunner, cpu_threads, is_out_of_memory
from ragate.scoring.rerankers.base import Reranker

log = logging.getLogger(__name__)

CONFIG_KEY = "reranker.model"

# Static int8 (onnx-qdq, openvino-int8) is no candidate: calibration and the gate read the logits, and
# on real text it moved one by 0.62 where the check pairs showed 0.16 (AMD EPYC, AVX-512 VNNI).
# Both stay configurable by name.
AUTO_CANDIDATES = ("torch", "onnx", "onnx-int8", "openvino", "openvino-bf16")
AUTO_CHECK_PAIRS = 128  # pairs timed and compared per candidate when `auto` measures


class CrossEncoderReranker(Reranker):
    """The `local` provider: a sentence-transformers cross-encoder in this process."""

    def __init__(
        self,
        model: str,
        device: str = "auto",
        max_length: int = 256,
        batch_size: int = 32,
        precision: str = "fp32",
        threads: int = 0,
        backend: str = "torch",
        cache_dir: str | Path | None = None,
        cache_size: int = 0,
        microbatch_wait_ms: float = 0.0,
        microbatch_max_pairs: int = 512,
        calibration_pairs: Sequence[tuple[str, str]] | None = None,
        config_key: str = CONFIG_KEY,
        measure: str = "at_load",
    ):
        import torch
        from sentence_transformers import CrossEncoder

        super().__init__(model, cache_size=cache_size)
        self.max_length = max_length
        self.batch_size = batch_size
        if threads:
            torch.set_num_threads(threads)
        device = pick_device(device)
        try:
            ce = CrossEncoder(resolve_model(model), device="cpu", max_length=max_length)
        except Exception as e:  # hub, IO and config errors all mean the same thing to the user
            raise ModelLoadError(model, e, config_key) from None
        if ce.model.config.num_labels != 1:
            raise ModelLoadError(model, f"expected a single-logit relevance head, found {ce.model.config.num_labels} labels", config_key)
        self.tokenizer = ce.tokenizer
        self.input_names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in self.tokenizer.model_input_names]
        self.threads = threads
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        # Static int8 reads activation ranges from these; the built-in pairs need no data.
        self.calibration_pairs = list(calibration_pairs) if calibration_pairs else builtin_pairs()
        self._lock = threading.Lock()  # one forward pass at a time
        # backend=auto on a first start: "background" answers in PyTorch while the engines are measured.
        self._later = engine_choice.Later(self._switch) if measure == "background" else None
        self._model = ce.model
        self._built: dict[str, TorchRunner | OnnxRunner | OpenVinoRunner] = {}  # engines measured, for the switch
        self.engine_verdict_path: Path | None = None  # the stored `auto` verdict, when auto chose
        # engine_reason: why this engine, in words, for `ragate stats`.
        self.runner, self.engine_reason = resolve(
            backend,
            device,
            label="reranker",
            auto=lambda: self._auto_engine(ce.model),
            build=lambda b: self._runner(b, ce.model, device, precision),
            torch=lambda: TorchRunner(ce.model, device, precision),
        )
        if not self.engine_pending:
            self._built = {}  # the engines measured at load are not kept beside the one chosen
        self.batcher = MicroBatcher(self._score_uncached, microbatch_wait_ms, microbatch_max_pairs) if microbatch_wait_ms > 0 else None
        # A first measured speed for latency budgets (and the runtime's one-off start-up cost paid now).
        self._score_uncached(["warm-up query"] * 8, ["a warm-up passage of ordinary length " * 12] * 8)

    def _runner(self, backend: str, model, device: str, precision: str) -> TorchRunner | OnnxRunner | OpenVinoRunner:
        if backend == "torch":
            return TorchRunner(model, device, precision)
        return cpu_runner(backend, self._source(model), self.cache_dir, threads=self.threads, calibration=self._calibration_features)

    def _source(self, model) -> GraphSource:
        return GraphSource(model, model, tuple(self.input_names), "logits", "reranker")

    def _calibration_features(self) -> list[dict[str, np.ndarray]]:
        queries, passages = zip(*self.calibration_pairs, strict=True)
        return [{k: np.asarray([v], dtype=np.int64) for k, v in f.items()} for f in self._encode(queries, passages)]

    def _auto_engine(self, model) -> tuple[str, str]:
        """The fastest CPU engine that keeps the ranking, measured once per model and machine."""
        if self.cache_dir is None:
            return "torch", "no cache directory for exported engines"
        queries, passages = zip(*check_pairs(AUTO_CHECK_PAIRS), strict=True)

        def build(backend: str):
            runner = self._runner(backend, model, "cpu", "fp32")
            self._built[backend] = runner
            return lambda: self._score_uncached(queries, passages, runner=runner)

        self.engine_verdict_path = self.cache_dir / f"{self._source(model).fingerprint()}.engine.json"
        return engine_choice.choose(
            self.engine_verdict_path,
            threads=self.threads or cpu_threads(),
            candidates=AUTO_CANDIDATES,
            build=build,
            bar=engine_choice.SCORES,
            label="reranker",
            later=self._later,
        )

    def remeasure(self) -> bool:
        """Measure the CPU engines again in the background (`ragate engines --measure`), serving on
        the current one meanwhile; False when this engine was not chosen by `auto` on CPU."""
        if self.engine_verdict_path is None or self.engine_pending:
            return False
        self.engine_verdict_path.unlink(missing_ok=True)
        self._later = engine_choice.Later(self._switch, prior_first=False)
        self._auto_engine(self._model)
        return True

    def _switch(self, engine: str, why: str) -> None:
        """The background measurement's verdict: the next batch runs on `engine`."""
        runner = self._built.get(engine) or self._runner(engine, self._model, "cpu", "fp32")
        with self._lock:
            self.runner, self.engine_reason = runner, why
        self._built = {}

    @property
    def engine_pending(self) -> bool:
        """The CPU engines are being measured in the background; this one runs meanwhile."""
        return self._later is not None and self._later.pending

    @property
    def device(self) -> str:
        return self.runner.device

    @property
    def kind(self) -> str:
        return self.runner.kind

    def _encode(self, queries: Sequence[str], passages: Sequence[str]) -> list[dict]:
        # Cap the query at half the window so truncating only the passage always fits.
        q_ids = self.tokenizer(list(queries), add_special_tokens=False, truncation=True, max_length=self.max_length // 2)["input_ids"]
        q_text = self.tokenizer.batch_decode(q_ids)
        enc = self.tokenizer(q_text, list(passages), truncation="only_second", max_length=self.max_length, padding=False)
        return [{k: enc[k][i] for k in self.input_names} for i in range(len(passages))]

    def _forward(self, features: list[dict], runner) -> np.ndarray:
        batch = self.tokenizer.pad(features, return_tensors="np")
        return runner.forward({k: batch[k] for k in self.input_names}).reshape(-1)

    def _score_uncached(self, queries: Sequence[str], passages: Sequence[str], *, runner=None) -> np.ndarray:
        """Logits in input order; `runner` (an engine being measured) runs beside the serving one,
        outside its lock, and its speed is not the serving engine's."""
        n = len(passages)
        out = np.zeros(n, dtype=np.float32)
        if n == 0:
            return out
        t0 = time.perf_counter()
        features = self._encode(queries, passages)
        order = sorted(range(n), key=lambda i: len(features[i]["input_ids"]))
        if runner is not None:
            for s in range(0, n, self.batch_size):
                idx = order[s : s + self.batch_size]
                out[idx] = self._forward([features[i] for i in idx], runner)
            return out
        with self._lock:
            s = 0
            while s < n:
                check_deadline("rerank")
                idx = order[s : s + self.batch_size]
                try:
                    out[idx] = self._forward([features[i] for i in idx], self.runner)
                except Exception as e:
                    if not is_out_of_memory(e) or not isinstance(self.runner, TorchRunner):
                        raise
                    self._shrink_after_oom()
                    continue
                s += len(idx)
        self._measured(n, time.perf_counter() - t0)
        return out

    def _shrink_after_oom(self) -> None:
        if self.batch_size > 1:
            self.batch_size //= 2
            log.warning("reranker out of memory on %s; batch size halved to %d", self.runner.device, self.batch_size)
        else:
            log.warning("reranker out of memory on %s even for one pair; falling back to CPU", self.runner.device)
            self.runner.to_cpu()
