"""CPU engines: OpenVINO fp32 matches PyTorch; bf16 and OpenVINO's static int8 keep its ranking
(OpenVINO ones skipped without the [openvino] extra); ONNX Runtime's static QDQ int8 quantizes
activations with ranges from its calibration pairs; `backend = "auto"`
picks the fastest engine that keeps it, measures only what is installed, and reuses its verdict
instead of measuring again. The bi-encoder on the same engines keeps its vectors, and its `auto`
falls back to PyTorch when no engine can be imported."""

import json
import logging
import os
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from ragate.retrieval.embedder import Embedder
from ragate.scoring.engines import choice as engine_choice
from ragate.scoring.engines import cpu_engines, openvino_export
from ragate.scoring.engines.embedder import AUTO_CANDIDATES as EMBEDDER_CANDIDATES
from ragate.scoring.engines.embedder import apply_engine, graph_source
from ragate.scoring.engines.int8_calibration import builtin_pairs, builtin_texts
from ragate.scoring.engines.onnx_export import model_fingerprint
from ragate.scoring.engines.reranker import AUTO_CANDIDATES, CrossEncoderReranker
from ragate.scoring.engines.runners import cpu_threads

pytestmark = pytest.mark.slow  # real models: the integration tier

RERANKER = os.environ["RAGATE_RERANKER_MODEL"]  # set by conftest: the offline reranker
ONNX_DIR = os.environ["RAGATE_RERANKER_ONNX_DIR"]
needs_openvino = pytest.mark.skipif(not openvino_export.available(), reason="needs OpenVINO")
# Pairs the calibration never saw: a different draw of passages.
QUERIES, PASSAGES = zip(*builtin_pairs(96, seed=7), strict=True)


def _reranker_fingerprint() -> str:
    from sentence_transformers import CrossEncoder

    return model_fingerprint(CrossEncoder(RERANKER, device="cpu").model)


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


def test_onnx_qdq_quantizes_activations_from_calibration_pairs(reference, tmp_path):
    import onnx

    calibration = builtin_pairs(24, seed=3)
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="onnx-qdq", cache_dir=tmp_path, calibration_pairs=calibration)
    assert engine.kind == "onnx-qdq"
    got = engine.score_pairs(QUERIES, PASSAGES)
    # int8 close to fp32 (whether close enough for `auto` is the bar's call), not fp32 renamed.
    assert spearmanr(reference, got)[0] >= 0.95
    assert not np.allclose(got, reference, atol=1e-3)
    (export,) = tmp_path.glob("*.qdq.*.onnx")
    graph = onnx.load(str(export)).graph
    weights = {t.name for t in graph.initializer}
    # Static: activations (tensors computed at run time, not weights) pass through QuantizeLinear,
    # with scales fixed in the graph from the calibration pairs.
    assert [n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in weights]
    assert not [n for n in graph.node if n.op_type == "DynamicQuantizeLinear"]
    # Other calibration pairs give other ranges, so another export rather than a stale one.
    CrossEncoderReranker(RERANKER, "cpu", backend="onnx-qdq", cache_dir=tmp_path, calibration_pairs=builtin_pairs(24, seed=4))
    assert len(list(tmp_path.glob("*.qdq.*.onnx"))) == 2


def _stored_key(candidates) -> str:
    """The key of a verdict measured on this CPU: only the engines that can win here are measured."""
    return engine_choice.verdict_key(cpu_threads(), engine_choice.worth_measuring(list(candidates), engine_choice.cpu_flags())[0])


def test_auto_without_openvino_measures_what_is_installed(monkeypatch, tmp_path):
    # As on a plain install: importing OpenVINO fails. The verdict for the engines that are left is
    # the one read back (stored here, so nothing is measured), and the reason says what is missing.
    monkeypatch.setitem(sys.modules, "openvino", None)
    installed = [b for b in AUTO_CANDIDATES if not b.startswith("openvino")]
    verdict = {"key": _stored_key(installed), "engine": "onnx-int8", "why": "measured earlier", "measured": {}}
    (tmp_path / f"{_reranker_fingerprint()}.engine.json").write_text(json.dumps(verdict))
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="auto", cache_dir=tmp_path)
    assert engine.kind == "onnx-int8"
    assert engine.engine_reason == "measured earlier; not installed: openvino, openvino-bf16"


@needs_openvino
def test_auto_reuses_its_verdict_for_this_model_and_machine(tmp_path, caplog):
    key = _stored_key(AUTO_CANDIDATES)
    verdict = {"key": key, "engine": "torch", "why": "measured earlier", "measured": {}}
    (tmp_path / f"{_reranker_fingerprint()}.engine.json").write_text(json.dumps(verdict))
    with caplog.at_level(logging.WARNING):
        engine = CrossEncoderReranker(RERANKER, "cpu", backend="auto", cache_dir=tmp_path)
    assert (engine.kind, engine.engine_reason) == ("torch", "measured earlier")
    assert not [r for r in caplog.records if "measuring" in r.getMessage()]


@needs_openvino
def test_a_second_index_folder_on_the_machine_reuses_the_first_ones_verdict(tmp_path, monkeypatch, caplog):
    from ragate.server.config import Settings
    from ragate.server.model_loader import cross_encoder, onnx_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = (
        Settings.model_validate({"qdrant": {"path": str(tmp_path / folder)}, "reranker": {"model": RERANKER, "measure": "at_load"}})
        for folder in ("project-a", "project-b")
    )
    # Exports and verdicts are the machine's, in the user's cache folder, whatever the index folder.
    assert onnx_dir(first) == onnx_dir(second) == tmp_path / "cache" / "ragate" / "engines"
    key = _stored_key(AUTO_CANDIDATES)
    verdict = {"key": key, "engine": "torch", "why": "measured for project-a", "measured": {}}
    onnx_dir(first).mkdir(parents=True)
    (onnx_dir(first) / f"{_reranker_fingerprint()}.engine.json").write_text(json.dumps(verdict))
    with caplog.at_level(logging.WARNING):
        engine = cross_encoder(second, RERANKER, config_key="reranker.model")
    assert (engine.kind, engine.engine_reason) == ("torch", "measured for project-a")
    assert not [r for r in caplog.records if "measuring" in r.getMessage() or "exporting" in r.getMessage()]


EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"  # the offline bi-encoder (its PyPI package)
# Chunk-sized passages and short queries, none of them the texts `auto` measures on.
TEXTS = builtin_texts(40, seed=5)[-28:] + ["tides", "what is reciprocal rank fusion?", "Vitamin D and bone fractures in the elderly"]


def _embedder(backend: str, cache_dir) -> Embedder:
    embedder = Embedder(EMBEDDER, "cpu")
    apply_engine(embedder, backend=backend, cache_dir=cache_dir)
    return embedder


@pytest.fixture(scope="module")
def torch_vectors():
    return Embedder(EMBEDDER, "cpu").encode(TEXTS)


@pytest.mark.parametrize("backend", [b for b in EMBEDDER_CANDIDATES if b != "torch"])
def test_embedder_engines_keep_the_vectors(backend, torch_vectors):
    if not cpu_engines.available(backend):
        pytest.skip("needs OpenVINO")
    engine = _embedder(backend, ONNX_DIR)
    assert engine.kind == backend
    got = engine.encode(TEXTS)
    assert got.shape == torch_vectors.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert engine_choice.min_cosine(torch_vectors, got) >= engine_choice.MIN_COSINE
    if backend in ("onnx", "openvino"):  # fp32 graphs: sentence-transformers' pooling, to float precision
        np.testing.assert_allclose(got, torch_vectors, atol=1e-5)


def test_embedder_auto_reuses_its_verdict(tmp_path, caplog):
    embedder = Embedder(EMBEDDER, "cpu")
    installed = [b for b in EMBEDDER_CANDIDATES if b == "torch" or cpu_engines.available(b)]
    verdict = {"key": _stored_key(installed), "engine": "onnx", "why": "measured earlier", "measured": {}}
    (tmp_path / f"{graph_source(embedder).fingerprint()}.engine.json").write_text(json.dumps(verdict))
    with caplog.at_level(logging.WARNING):
        apply_engine(embedder, backend="auto", cache_dir=tmp_path)
    assert embedder.kind == "onnx" and embedder.engine_reason.startswith("measured earlier")
    assert not [r for r in caplog.records if "measuring" in r.getMessage()]


def test_auto_that_cannot_measure_serves_in_torch(tmp_path, torch_vectors):
    # The export directory is not writable as one (a file stands there): the model still loads.
    blocked = tmp_path / "onnx"
    blocked.write_text("not a directory")
    engine = _embedder("auto", blocked)
    assert engine.kind == "torch" and engine.engine_reason.startswith("backend=auto could not measure")
    np.testing.assert_array_equal(engine.encode(TEXTS), torch_vectors)


def test_embedder_auto_falls_back_to_torch_without_engines(monkeypatch, tmp_path, torch_vectors):
    # Neither ONNX Runtime nor OpenVINO can be imported: auto measures PyTorch alone and says why.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setitem(sys.modules, "openvino", None)
    engine = _embedder("auto", tmp_path)
    assert engine.kind == "torch"
    assert engine.engine_reason.endswith("not installed: " + ", ".join(b for b in EMBEDDER_CANDIDATES if b != "torch"))
    np.testing.assert_array_equal(engine.encode(TEXTS), torch_vectors)
