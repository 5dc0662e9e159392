"""CPU engines beyond ONNX Runtime: OpenVINO fp32 matches PyTorch, bf16 and static int8 keep its ranking (skipped
without the [openvino] extra), and `backend = "auto"` picks the fastest engine that keeps it,
falls back without OpenVINO, and reuses its verdict instead of measuring again."""

import json
import logging
import os

import numpy as np
import pytest
from scipy.stats import spearmanr

from ragate.scoring import engine_choice, openvino_export
from ragate.scoring.calibration_pairs import builtin_pairs
from ragate.scoring.onnx_export import weights_fingerprint
from ragate.scoring.reranker import AUTO_CANDIDATES, CrossEncoderReranker
from ragate.scoring.runners import cpu_threads

RERANKER = os.environ["RAGATE_RERANKER_MODEL"]  # set by conftest: the offline reranker
ONNX_DIR = os.environ["RAGATE_RERANKER_ONNX_DIR"]
needs_openvino = pytest.mark.skipif(not openvino_export.available(), reason="needs the [openvino] extra")
# Pairs the calibration never saw: a different draw of passages.
QUERIES, PASSAGES = zip(*builtin_pairs(96, seed=7), strict=True)


@pytest.fixture(scope="module")
def reference():
    return CrossEncoderReranker(RERANKER, "cpu", backend="torch").score_pairs(QUERIES, PASSAGES)


@needs_openvino
def test_openvino_fp32_matches_torch(reference):
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="openvino", cache_dir=ONNX_DIR)
    assert engine.kind == "openvino"
    np.testing.assert_allclose(engine.score_pairs(QUERIES, PASSAGES), reference, atol=1e-3)


@needs_openvino
@pytest.mark.parametrize("backend", ["openvino-bf16", "openvino-int8"])
def test_reduced_precision_openvino_keeps_the_fp32_ranking(backend, reference):
    import openvino as ov

    if backend == "openvino-bf16" and "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no bf16; the hint runs fp32")
    engine = CrossEncoderReranker(RERANKER, "cpu", backend=backend, cache_dir=ONNX_DIR)
    assert engine.kind == backend
    got = engine.score_pairs(QUERIES, PASSAGES)
    assert spearmanr(reference, got)[0] >= engine_choice.MIN_SPEARMAN
    assert not np.allclose(got, reference, atol=1e-4)  # reduced precision, not fp32 under another name


def test_pick_takes_the_fastest_engine_that_keeps_the_ranking():
    measured = {
        "torch": {"seconds": 4.0, "spearman": 1.0, "max_logit_error": 0.0},
        "onnx-int8": {"seconds": 2.0, "spearman": 0.995, "max_logit_error": 0.1},
        "openvino-int8": {"seconds": 1.0, "spearman": 0.95, "max_logit_error": 0.2},
        "openvino": {"seconds": 1.0, "spearman": 0.999, "max_logit_error": 0.6},
    }
    engine, why = engine_choice.pick(measured, reference="torch")
    assert engine == "onnx-int8"
    assert "onnx-int8 x2.00" in why and "openvino-int8 (rho 0.950, max logit error 0.20)" in why and "openvino (rho 0.999" in why
    # Within the timing noise, the engine closer to fp32 wins.
    measured["openvino-bf16"] = {"seconds": 2.1, "spearman": 0.9995, "max_logit_error": 0.05}
    assert engine_choice.pick(measured, reference="torch")[0] == "openvino-bf16"
    measured["openvino-bf16"]["seconds"] = 2.5
    assert engine_choice.pick(measured, reference="torch")[0] == "onnx-int8"


def test_auto_without_openvino_falls_back_to_int8_onnx(monkeypatch):
    monkeypatch.setattr(openvino_export, "available", lambda: False)
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="auto", cache_dir=ONNX_DIR)
    assert engine.kind == "onnx-int8"
    assert "not installed" in engine.engine_reason


@needs_openvino
def test_auto_reuses_its_verdict_for_this_model_and_machine(tmp_path, caplog):
    from sentence_transformers import CrossEncoder

    fingerprint = weights_fingerprint(CrossEncoder(RERANKER, device="cpu").model)
    key = f"{engine_choice.machine(cpu_threads())}; candidates {','.join(AUTO_CANDIDATES)}"
    verdict = {"key": key, "engine": "torch", "why": "measured earlier", "measured": {}}
    (tmp_path / f"{fingerprint}.engine.json").write_text(json.dumps(verdict))
    with caplog.at_level(logging.WARNING):
        engine = CrossEncoderReranker(RERANKER, "cpu", backend="auto", cache_dir=tmp_path)
    assert (engine.kind, engine.engine_reason) == ("torch", "measured earlier")
    assert not [r for r in caplog.records if "measuring" in r.getMessage()]
