"""OpenVINO conversion of a loaded transformer (the cross-encoder, the bi-encoder), and static int8
quantization with NNCF calibrated on encoded inputs. Static int8 quantizes activations as well as weights, which
is what makes it several times faster than fp32 on CPU where dynamic quantization is not.
Artefacts sit beside the ONNX exports under the same weight fingerprint, so an unchanged model
loads in a second and a changed one is converted afresh. OpenVINO is a default dependency; static int8 also needs NNCF (the `[openvino]` extra)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragate.scoring.engines.onnx_export import GraphSource, calibration_fingerprint, traceable

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _convert(source: GraphSource):
    import openvino as ov
    import torch

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in source.input_names)
    dynamic = [(ov.PartialShape([-1, -1]), ov.Type.i64)] * len(source.input_names)
    with traceable(source) as module, torch.inference_mode():
        ov_model = ov.convert_model(module, example_input=example, input=dynamic)
    for port, name in zip(ov_model.inputs, source.input_names, strict=True):
        port.get_tensor().set_names({name})
    return ov_model


def _quantize(ov_model, calibration: Sequence[dict[str, np.ndarray]]):
    import nncf

    # One input per calibration item, unpadded: the ranges seen are those of real tokens.
    return nncf.quantize(ov_model, nncf.Dataset(list(calibration)), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration))


def openvino_model(source: GraphSource, cache_dir: Path, *, calibration: Sequence[dict[str, np.ndarray]] | None) -> Path:
    """Path of the cached OpenVINO IR for these weights: fp32 when `calibration` is None, else
    int8 calibrated on those encoded inputs; converted (and quantized) on a miss."""
    import openvino as ov

    cache_dir.mkdir(parents=True, exist_ok=True)
    key = source.fingerprint()
    target = cache_dir / (
        f"{key}.openvino-int8.{calibration_fingerprint(calibration)}.xml" if calibration is not None else f"{key}.openvino.xml"
    )
    if target.is_file():
        return target
    log.warning("converting the %s to %s (once per model)", source.label, target)
    ov_model = _convert(source)
    if calibration is not None:
        ov_model = _quantize(ov_model, calibration)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(ov_model, str(xml), compress_to_fp16=False)
        # The weights first, then the graph that names them: a loader that sees the .xml sees both.
        os.replace(xml.with_suffix(".bin"), target.with_suffix(".bin"))
        os.replace(xml, target)
    return target
