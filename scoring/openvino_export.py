"""OpenVINO conversion of the loaded cross-encoder, and static int8 quantization with NNCF
calibrated on (query, passage) pairs. Static int8 quantizes activations as well as weights, which
is what makes it several times faster than fp32 on CPU where dynamic quantization is not.
Artefacts sit beside the ONNX exports under the same weight fingerprint, so an unchanged model
loads in a second and a changed one is converted afresh. Needs the `[openvino]` extra."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragate.scoring.onnx_export import weights_fingerprint

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _fingerprint(calibration: Sequence[dict[str, np.ndarray]]) -> str:
    """Int8 ranges depend on the calibration pairs as well as the weights."""
    h = hashlib.sha256()
    for item in calibration:
        for name in sorted(item):
            h.update(name.encode())
            h.update(np.ascontiguousarray(item[name]).tobytes())
    return h.hexdigest()[:8]


def _convert(model, input_names: list[str]):
    import openvino as ov
    import torch

    model = model.float().cpu().eval()
    # Eager attention converts to plain MatMul/Softmax, which OpenVINO fuses and NNCF quantizes.
    model.set_attn_implementation("eager")
    example = {n: torch.ones((2, 8), dtype=torch.long) for n in input_names}
    dynamic = [(ov.PartialShape([-1, -1]), ov.Type.i64)] * len(input_names)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes that the dynamic axes cover
        return ov.convert_model(model, example_input=example, input=dynamic)


def _quantize(ov_model, calibration: Sequence[dict[str, np.ndarray]]):
    import nncf

    # One pair per calibration item, unpadded: the ranges seen are those of real tokens.
    return nncf.quantize(ov_model, nncf.Dataset(list(calibration)), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration))


def openvino_model(model, input_names: list[str], cache_dir: Path, *, calibration: Sequence[dict[str, np.ndarray]] | None) -> Path:
    """Path of the cached OpenVINO IR for these weights: fp32 when `calibration` is None, else
    int8 calibrated on those encoded pairs; converted (and quantized) on a miss."""
    import openvino as ov

    cache_dir.mkdir(parents=True, exist_ok=True)
    key = weights_fingerprint(model)
    target = cache_dir / (f"{key}.openvino-int8.{_fingerprint(calibration)}.xml" if calibration is not None else f"{key}.openvino.xml")
    if target.is_file():
        return target
    log.warning("converting the reranker to %s (once per model)", target)
    ov_model = _convert(model, input_names)
    if calibration is not None:
        ov_model = _quantize(ov_model, calibration)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(ov_model, str(xml), compress_to_fp16=False)
        # The weights first, then the graph that names them: a loader that sees the .xml sees both.
        os.replace(xml.with_suffix(".bin"), target.with_suffix(".bin"))
        os.replace(xml, target)
    return target
