"""The reranking engine with the real model: the default CPU engine keeps the fp32 ranking, the export is cached
per weights, the score cache and the micro-batcher return exactly what a direct call returns,
CUDA out-of-memory halves the batch, and margin/budget limits show in the search response."""

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from ragate.retrieval.fusion import lead_margin
from ragate.scoring.engines.choice import worth_measuring
from ragate.scoring.engines.microbatch import MicroBatcher
from ragate.scoring.engines.reranker import CrossEncoderReranker
from ragate.scoring.engines.score_cache import ScoreCache, pair_key
from ragate.server.requests import IndexRequest, SearchRequest

pytestmark = pytest.mark.slow  # real models: the integration tier

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "corpus"
RERANKER = os.environ["RAGATE_RERANKER_MODEL"]  # set by conftest: the offline reranker
ONNX_DIR = os.environ["RAGATE_RERANKER_ONNX_DIR"]


QUERY = "How does reciprocal rank fusion combine dense and keyword results?"
PASSAGES = [
    "Reciprocal rank fusion adds 1/(k + rank) from each ranked list, so documents ranked well by both rise.",
    "The mitochondria is the powerhouse of the cell and produces ATP through oxidative phosphorylation.",
    "BM25 scores documents by term frequency and inverse document frequency with length normalisation.",
    "Dense retrieval embeds queries and passages into vectors and ranks by cosine similarity.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Hybrid search runs a keyword index and a vector index and merges the two candidate lists.",
    "Vitamin D deficiency has been associated with a higher risk of cardiovascular disease.",
    "Cross-encoders read the query and the passage together and output one relevance logit.",
] * 3


@pytest.fixture(scope="module")
def torch_engine():
    return CrossEncoderReranker(RERANKER, "cpu", backend="torch")


def test_default_cpu_engine_is_an_exported_graph_and_keeps_the_fp32_ranking(models, torch_engine):
    engine = models.reranker
    # Which one `auto` picks depends on the CPU (and on which runtimes are installed).
    assert engine.kind.startswith(("onnx", "openvino")) and engine.device == "cpu" and engine.engine_reason
    ref = torch_engine.score(QUERY, PASSAGES[:8])
    got = engine.score(QUERY, PASSAGES[:8])
    assert np.abs(got - ref).max() < 0.3  # logits, on a scale where relevant and not differ by ~10
    # Every pair of passages fp32 tells apart (by half a logit or more) keeps its order; the
    # population-level Spearman figure is measured in bench.rerank_speed.
    for i in range(8):
        for j in range(8):
            if ref[i] - ref[j] >= 0.5:
                assert got[i] > got[j], (PASSAGES[i], PASSAGES[j])


def test_a_first_start_answers_in_pytorch_and_switches_once_measured(models, tmp_path):
    # The exports are reused (made by the session's models), the verdict is not: it is measured again.
    for f in Path(ONNX_DIR).iterdir():
        if f.is_file() and not f.name.endswith(".engine.json"):
            shutil.copy(f, tmp_path / f.name)
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="auto", cache_dir=tmp_path, measure="background")
    assert engine.kind == "torch" and engine.engine_pending and "background" in engine.engine_reason
    during = engine.score(QUERY, PASSAGES[:8])  # it serves while the engines are measured
    assert engine._later.done.wait(600) and not engine.engine_pending
    verdict = json.loads(engine.engine_verdict_path.read_text())
    assert engine.kind == verdict["engine"] and engine.engine_reason == verdict["why"]
    np.testing.assert_allclose(engine.score(QUERY, PASSAGES[8:16]), during, atol=0.3)  # the same passages, reordered by *3
    # Asked to measure again, it keeps serving on the engine it has until the new verdict is in.
    assert engine.remeasure() and engine.kind == verdict["engine"]
    assert engine._later.done.wait(600) and engine.engine_verdict_path.is_file()


def test_engines_that_cannot_win_on_this_cpu_are_not_measured():
    candidates = ("torch", "onnx", "onnx-int8", "openvino", "openvino-bf16")
    keep, skip = worth_measuring(candidates, {"avx2", "fma"})  # an AVX2-only CPU
    assert keep == ["torch", "onnx", "openvino"] and [s.split()[0] for s in skip] == ["onnx-int8", "openvino-bf16"]
    keep, _ = worth_measuring(candidates, {"avx2", "avx512f", "avx512_vnni"})
    assert keep == ["torch", "onnx", "onnx-int8", "openvino"]
    assert worth_measuring(candidates, {"amx_int8", "amx_bf16"})[0] == list(candidates)
    assert worth_measuring(candidates, set())[0] == list(candidates)  # flags unknown: measure everything


def test_plain_onnx_matches_torch_exactly(torch_engine):
    onnx = CrossEncoderReranker(RERANKER, "cpu", backend="onnx", cache_dir=ONNX_DIR)
    np.testing.assert_allclose(onnx.score(QUERY, PASSAGES), torch_engine.score(QUERY, PASSAGES), atol=1e-3)


def test_export_is_cached_per_weights(tmp_path, caplog):
    CrossEncoderReranker(RERANKER, "cpu", backend="onnx-int8", cache_dir=tmp_path)
    files = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")}
    assert len(files) == 1
    caplog.clear()
    CrossEncoderReranker(RERANKER, "cpu", backend="onnx-int8", cache_dir=tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")} == files
    assert not [r for r in caplog.records if "exporting" in r.getMessage()]


def test_score_cache_serves_repeats_and_evicts_least_recent():
    cache = ScoreCache(2)
    a, b, c = (pair_key("m", "q", t) for t in "abc")
    cache.put(a, 1.0)
    cache.put(b, 2.0)
    assert cache.get(a) == 1.0  # a is now the most recent
    cache.put(c, 3.0)
    assert cache.get(b) is None and cache.get(a) == 1.0 and cache.get(c) == 3.0
    assert pair_key("m1", "q", "p") != pair_key("m2", "q", "p") != pair_key("m1", "q2", "p")


def test_cached_scores_equal_computed_ones(torch_engine):
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="torch", cache_size=100)
    first, cached = engine.score_counted(QUERY, PASSAGES[:8])
    assert cached == 0
    again, cached = engine.score_counted(QUERY, PASSAGES[:8])
    assert cached == 8
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, torch_engine.score(QUERY, PASSAGES[:8]), atol=1e-5)


def test_micro_batcher_shares_jobs_and_returns_each_caller_its_own_scores(torch_engine):
    batcher = MicroBatcher(torch_engine._score_uncached, max_wait_ms=50, max_pairs=1000)
    queries = [QUERY, "What causes cardiovascular disease?", "How do plants make glucose?", "What is BM25?"] * 2
    results: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(queries))

    def call(i):
        barrier.wait()
        results[i] = batcher.score_pairs([queries[i]] * 8, PASSAGES[:8])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert batcher.jobs < len(queries)
    for i, q in enumerate(queries):
        np.testing.assert_allclose(results[i], torch_engine.score(q, PASSAGES[:8]), atol=1e-4)


def test_micro_batcher_passes_errors_to_callers_and_keeps_serving():
    calls = []

    def flaky(qs, ps):
        calls.append(len(qs))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return np.arange(len(qs), dtype=np.float32)

    batcher = MicroBatcher(flaky, max_wait_ms=1)
    with pytest.raises(RuntimeError, match="boom"):
        batcher.score_pairs(["q"], ["p"])
    np.testing.assert_array_equal(batcher.score_pairs(["q", "q"], ["p", "r"]), [0, 1])


class _OomAbove:
    """Wraps a real runner; raises CUDA OOM for batches over `limit` pairs while 'on the GPU'."""

    def __init__(self, runner, limit):
        self.runner, self.limit, self.device, self.kind, self.moved = runner, limit, "cuda", "torch", False

    def forward(self, batch):
        if len(batch["input_ids"]) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.runner.forward(batch)

    def to_cpu(self):
        self.moved, self.limit, self.device = True, 10**9, "cpu"


def test_out_of_memory_halves_the_batch_then_falls_back_to_cpu(torch_engine, monkeypatch):
    import ragate.scoring.engines.reranker as rr

    ref = torch_engine.score(QUERY, PASSAGES)
    engine = CrossEncoderReranker(RERANKER, "cpu", backend="torch", batch_size=32)
    monkeypatch.setattr(rr, "TorchRunner", _OomAbove)  # the engine checks the runner's type before retrying
    engine.runner = _OomAbove(engine.runner, 5)
    np.testing.assert_allclose(engine.score(QUERY, PASSAGES), ref, atol=1e-5)
    assert engine.batch_size == 4 and not engine.runner.moved
    engine.runner.limit = 0  # not even one pair fits
    np.testing.assert_allclose(engine.score(QUERY, PASSAGES[::-1]), ref[::-1], atol=1e-5)
    assert engine.runner.moved and engine.batch_size == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_half_precision_keeps_the_fp32_ranking(torch_engine):
    ref = torch_engine.score(QUERY, PASSAGES)
    for precision in ("bf16", "fp16"):
        gpu = CrossEncoderReranker(RERANKER, "cuda", precision=precision, backend="auto")
        assert gpu.kind == f"torch-{precision}"
        got = gpu.score(QUERY, PASSAGES)
        assert got.dtype == np.float32 and spearmanr(ref, got)[0] >= 0.99


def test_lead_margin_by_hand():
    assert lead_margin([0.9, 0.5, 0.1]) == pytest.approx(0.5)
    assert lead_margin([0.5, 0.5, 0.1]) == 0.0
    assert lead_margin([0.7]) == 1.0


def test_margin_skip_and_budget_show_in_the_response(settings, models):
    from ragate.retrieval.inline import InlineDocument
    from ragate.scoring.rerank_stage import channel_lead
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import AddDocumentsRequest
    from ragate.server.timing import Timer

    p = Pipeline(settings, models)
    try:
        p.index(IndexRequest(paths=[str(EXAMPLES)]))
        p.add_documents(
            AddDocumentsRequest(
                documents=[
                    InlineDocument(
                        text="The zorblax quintessometer measures quintessence in zorblax units.", title="Zorblax quintessometer"
                    )
                ]
            )
        )

        def fused_pool(q):
            timer = Timer()
            dense, sparse = p.retriever.recall(q, filters=None, n=40, collection=None, timer=timer)
            return p.retriever.fuse(q, dense, sparse, n=40, fusion=None, timer=timer)

        query = "zorblax quintessometer"
        pool = fused_pool(query)
        assert pool[0].chunk.title == "Zorblax quintessometer" and channel_lead(pool) > 0.5
        full = p.search(SearchRequest(query=query, top_k=10, candidates=40))
        # Adaptive depth reads the fused head at least, and says why it stopped where it did.
        stage = full.rerank_stage
        assert stage.pairs >= min(settings.reranker.depth_head, full.candidates)
        assert (stage.limited_by, stage.pairs < full.candidates) in ((None, False), ("depth", True))
        assert stage.depth_reason or full.candidates <= settings.reranker.depth_head
        repeat = p.search(SearchRequest(query=query, top_k=10, candidates=40))  # an agent asking again: served from the cache
        assert repeat.rerank_stage.cached == repeat.rerank_stage.pairs
        assert [r.chunk_id for r in repeat.results] == [r.chunk_id for r in full.results]

        margin = settings.model_copy(deep=True)
        margin.retrieval.skip_rerank_margin = 0.5
        skipping = Pipeline(margin, models, qdrant=p.catalog.qdrant)  # the same open store
        skipped = skipping.search(SearchRequest(query=query, top_k=10, candidates=40))
        assert skipped.rerank_stage.pairs == 1 and skipped.rerank_stage.limited_by == "margin"
        assert skipped.results[0].title == "Zorblax quintessometer" and skipped.results[0].scores.relevance is not None
        assert all(r.scores.relevance is None for r in skipped.results[1:])
        assert skipped.timings_ms["rerank"] < full.timings_ms["rerank"]
        # The rule follows the channels: a query without a clear leader is reranked in full.
        other = "how are search results combined"
        spread = skipping.search(SearchRequest(query=other, top_k=10, candidates=40))
        lead = channel_lead(fused_pool(other))
        assert (spread.rerank_stage.limited_by == "margin") == (lead >= 0.5)

        budgeted = p.search(SearchRequest(query="reciprocal rank fusion", top_k=25, candidates=40, rerank_budget_ms=1e-3))
        assert budgeted.rerank_stage.limited_by == "budget"
        assert budgeted.rerank_stage.pairs == settings.reranker.min_budget_pairs
        assert any("budget" in n for n in budgeted.notes)
        read = [r.scores.relevance is not None for r in budgeted.results]
        assert read == sorted(read, reverse=True)  # every passage the reranker read ranks above the rest
    finally:
        p.close()
