"""The CPU engines an exported transformer runs on, by `backend` name: one place that maps a name
to its export and its runner, for the cross-encoder and the bi-encoder alike."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from ragate.retrieval.errors import ConfigError
from ragate.scoring.engines import onnx_export, openvino_export
from ragate.scoring.engines.onnx_export import GraphSource
from ragate.scoring.engines.runners import OnnxRunner, OpenVinoRunner

log = logging.getLogger(__name__)

Runner = TypeVar("Runner")

ENGINES = ("onnx", "onnx-int8", "onnx-qdq", "openvino", "openvino-bf16", "openvino-int8")
OPENVINO = ("openvino", "openvino-bf16", "openvino-int8")
STATIC_INT8 = ("onnx-qdq", "openvino-int8")  # these read activation ranges from calibration inputs


def choose_backend(backend: str, device: str, *, label: str) -> str:
    """PyTorch off the CPU; on CPU, `auto` stays to be measured by the caller."""
    if backend == "auto":
        return "auto" if device == "cpu" else "torch"
    if backend in ENGINES and device != "cpu":
        log.warning("%s backend %s runs on CPU only; using torch on %s", label, backend, device)
        return "torch"
    return backend


def resolve(
    backend: str,
    device: str,
    *,
    label: str,
    auto: Callable[[], tuple[str, str]],
    build: Callable[[str], Runner],
    torch: Callable[[], Runner],
) -> tuple[Runner, str]:
    """The runner for a configured `backend` and why it runs, in words (for `ragate stats`):
    `auto` measures on CPU; an engine that cannot be exported or measured leaves the model in
    PyTorch (`torch()`), with the reason saying so."""
    chosen = choose_backend(backend, device, label=label)
    reason = "configured" if chosen == backend else f"backend={backend} on {device}: PyTorch"
    if chosen == "auto":
        try:
            chosen, reason = auto()
        except Exception as e:  # e.g. an unwritable export directory: still serve, in PyTorch
            log.warning("%s engines could not be measured (%s); running it in PyTorch", label, str(e).splitlines()[0][:300])
            return torch(), f"backend=auto could not measure ({str(e).splitlines()[0][:200]}); PyTorch"
    if chosen == "torch":
        return torch(), reason
    try:
        return build(chosen), reason
    except Exception as e:  # an architecture an exporter can't take still runs, in PyTorch
        log.warning("%s %s export failed (%s); running it in PyTorch", label, chosen, str(e).splitlines()[0][:300])
        return torch(), f"{chosen} export failed; PyTorch"


def cpu_runner(
    backend: str,
    source: GraphSource,
    cache_dir: Path | None,
    *,
    threads: int,
    calibration: Callable[[], Sequence[dict[str, np.ndarray]]],
) -> OnnxRunner | OpenVinoRunner:
    """A runner for `backend`, exporting `source` into `cache_dir` on first use; `calibration` is
    called only by the static int8 engines."""
    if backend not in ENGINES:
        raise ConfigError(f"unknown CPU engine {backend!r}")
    if cache_dir is None:
        raise ValueError(f"the {backend} backend needs a cache directory for the exported model")
    inputs = calibration() if backend in STATIC_INT8 else None
    if backend in OPENVINO:
        return OpenVinoRunner(
            openvino_export.openvino_model(source, cache_dir, calibration=inputs), threads, bf16=backend == "openvino-bf16"
        )
    quantization = {"onnx": "none", "onnx-int8": "dynamic", "onnx-qdq": "static"}[backend]
    return OnnxRunner(onnx_export.onnx_model(source, cache_dir, quantization=quantization, calibration=inputs), threads)


def available(backend: str) -> bool:
    """Whether this install has the runtime `backend` needs (both are default dependencies; an install may lack one)."""
    if backend in OPENVINO:
        return openvino_export.available()
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
