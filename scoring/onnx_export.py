"""ONNX export (and int8 dynamic quantization) of the loaded cross-encoder, from its weights in
memory: nothing is fetched. Artefacts are cached under a name derived from the weights, so a
changed model gets a fresh export and an unchanged one loads in milliseconds."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

OPSET = 17
EXPORT_VERSION = "3"  # bump when export or quantization settings change


def weights_fingerprint(model) -> str:
    h = hashlib.sha256(EXPORT_VERSION.encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _export(model, input_names: list[str], dest: Path) -> None:
    import torch

    model = model.float().cpu().eval()
    # Eager attention traces to the plain pattern ONNX Runtime fuses into one Attention op; the
    # SDPA path adds mask ops (Where, IsNaN) that cost a third of the int8 run time.
    model.set_attn_implementation("eager")
    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in input_names)
    axes = {n: {0: "batch", 1: "tokens"} for n in input_names}
    axes["logits"] = {0: "batch"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes that the dynamic axes cover
        torch.onnx.export(
            model, dummy, str(dest), input_names=input_names, output_names=["logits"], dynamic_axes=axes, opset_version=OPSET, dynamo=False
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


def _quantize(src: Path, dest: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weight scales, and the feed-forward output projections left in fp32: their inputs
    # come out of GELU with outliers that int8 clips. Quantizing them too is ~15% faster but drops
    # Spearman against fp32 below 0.99 (bench/RESULTS.md).
    keep_fp32 = [
        n.name
        for n in onnx.load(str(src), load_external_data=False).graph.node
        if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]
    quiet = logging.Filter()
    quiet.filter = lambda record: "pre-processing before quantization" not in record.getMessage()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(src),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=keep_fp32,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(quiet)


def onnx_model(model, input_names: list[str], cache_dir: Path, quantize: bool) -> Path:
    """Path of the cached ONNX file for these weights, exporting (and quantizing) on a miss."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = weights_fingerprint(model)
    fp32 = cache_dir / f"{key}.onnx"
    target = cache_dir / f"{key}.int8.onnx" if quantize else fp32
    if target.is_file():
        return target
    log.warning("exporting the reranker to %s (once per model)", target)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "model.onnx"
        _export(model, input_names, raw)
        built = fused if _fuse(raw, fused, model.config) else raw
        if quantize:
            _quantize(built, Path(tmp) / "model.int8.onnx")
            built = Path(tmp) / "model.int8.onnx"
        os.replace(built, target)  # atomic: a concurrent loader sees all of it or none
    return target
