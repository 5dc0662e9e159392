"""ONNX export of a loaded transformer (the cross-encoder, the bi-encoder) from its weights in
memory, and its int8 variants: dynamic (weights only) and static QDQ (weights and activations,
calibrated). Nothing is fetched. Artefacts are cached under a name derived from the weights, so a
changed model gets a fresh export and an unchanged one loads in milliseconds."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

OPSET = 17
EXPORT_VERSION = "3"  # bump when export or quantization settings change

Quantization = Literal["none", "dynamic", "static"]


@dataclass(frozen=True)
class GraphSource:
    """What the exporters need of a model: `module` maps token tensors (in `input_names` order) to
    one output tensor named `output_name`; `transformer` is the Hugging Face model inside it (its
    attention implementation and shape matter to tracing and fusions); `label` names it in logs."""

    module: Any
    transformer: Any
    input_names: tuple[str, ...]
    output_name: str
    label: str

    def fingerprint(self) -> str:
        return model_fingerprint(self.module)


def model_fingerprint(model) -> str:
    h = hashlib.sha256(EXPORT_VERSION.encode())
    # The structure too: a bi-encoder's pooling mode and normalisation have no weights.
    h.update(repr(model).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def calibration_fingerprint(calibration: Sequence[dict[str, np.ndarray]]) -> str:
    """Static int8 ranges depend on the calibration inputs as well as the weights."""
    h = hashlib.sha256()
    for item in calibration:
        for name in sorted(item):
            h.update(name.encode())
            h.update(np.ascontiguousarray(item[name]).tobytes())
    return h.hexdigest()[:8]


_TRACE_LOCK = threading.Lock()


@contextmanager
def traceable(source: GraphSource) -> Iterator[Any]:
    """The module in fp32 on CPU with eager attention for the length of an export; the model's own
    attention implementation is restored after, so PyTorch inference keeps its faster kernel.
    Eager attention traces to the plain MatMul/Softmax pattern that ONNX Runtime fuses into one
    Attention op and OpenVINO fuses and quantizes; the SDPA path adds mask ops (Where, IsNaN) that
    cost a third of the int8 run time."""
    with _TRACE_LOCK:  # the tracer's state is global: two models measured at once must not trace together
        before = source.transformer.config._attn_implementation
        module = source.module.float().cpu().eval()
        source.transformer.set_attn_implementation("eager")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes about shapes that the dynamic axes cover
                yield module
        finally:
            source.transformer.set_attn_implementation(before)


def _export(source: GraphSource, dest: Path) -> None:
    import torch

    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in source.input_names)
    axes = {n: {0: "batch", 1: "tokens"} for n in source.input_names}
    axes[source.output_name] = {0: "batch"}
    with traceable(source) as module, torch.inference_mode():
        torch.onnx.export(
            module,
            dummy,
            str(dest),
            input_names=list(source.input_names),
            output_names=[source.output_name],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _fuse(src: Path, dest: Path, config) -> bool:
    """ONNX Runtime's transformer fusions (attention, LayerNorm, GELU); False for architectures
    it does not know, which then run unfused."""
    from onnxruntime.transformers import optimizer

    try:
        opt = optimizer.optimize_model(str(src), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
        opt.save_model_to_file(str(dest))
        return True
    except Exception as e:  # unknown layouts are still correct unfused, only slower
        log.warning("ONNX transformer fusion skipped: %s", e)
        return False


def _ffn_output_projections(path: Path) -> list[str]:
    """The feed-forward output MatMuls: their inputs come out of GELU with outliers that int8 clips."""
    import onnx

    return [
        n.name
        for n in onnx.load(str(path), load_external_data=False).graph.node
        if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]


@contextmanager
def _quiet_preprocessing_advice() -> Iterator[None]:
    quiet = logging.Filter()
    quiet.filter = lambda record: "pre-processing before quantization" not in record.getMessage()
    logging.getLogger().addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(quiet)


def _quantize_dynamic(src: Path, dest: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weight scales, and the feed-forward output projections left in fp32: quantizing
    # them too is ~15% faster but drops Spearman against fp32 below 0.99 (bench/RESULTS.md).
    with _quiet_preprocessing_advice():
        quantize_dynamic(
            str(src),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=_ffn_output_projections(src),
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def _quantize_static(src: Path, dest: Path, calibration: Sequence[dict[str, np.ndarray]]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Inputs(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    with _quiet_preprocessing_advice():
        quantize_static(
            str(src),
            str(dest),
            Inputs(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_ffn_output_projections(src),
            # Ranges are folded in every few items: holding every tensor of every item takes GBs.
            extra_options={"CalibMaxIntermediateOutputs": 16},
        )


def onnx_model(
    source: GraphSource, cache_dir: Path, *, quantization: Quantization = "none", calibration: Sequence[dict[str, np.ndarray]] | None = None
) -> Path:
    """Path of the cached ONNX file for these weights, exporting (and quantizing) on a miss.
    Static quantization reads activation ranges from `calibration` (encoded inputs, one item each)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = source.fingerprint()
    if quantization == "static":
        if not calibration:
            raise ValueError("static int8 needs calibration inputs")
        target = cache_dir / f"{key}.qdq.{calibration_fingerprint(calibration)}.onnx"
    else:
        target = cache_dir / (f"{key}.int8.onnx" if quantization == "dynamic" else f"{key}.onnx")
    if target.is_file():
        return target
    log.warning("exporting the %s to %s (once per model)", source.label, target)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        raw, fused, built = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx", Path(tmp) / "model.onnx"
        _export(source, raw)
        if quantization == "static":
            # The unfused graph: the fused ops (Attention, SkipLayerNormalization) have no QDQ
            # form and hide their tensors' types from the quantizer, which then skips MatMuls.
            _quantize_static(raw, built, calibration)
        else:
            best = fused if _fuse(raw, fused, source.transformer.config) else raw
            if quantization == "dynamic":
                _quantize_dynamic(best, built)
            else:
                built = best
        os.replace(built, target)  # atomic: a concurrent loader sees all of it or none
    return target
