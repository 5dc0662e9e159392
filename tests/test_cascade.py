"""A real rerank cascade: the offline reranker cut to its first two layers reads the pool first and
the reranker reads only its best `first_pass_keep`; both scores reach the pipeline's, the CLI's and
the MCP server's search output, and the gate reads the reranker's calibrated scores only."""

from __future__ import annotations

import json

import pytest

from ragate.server.requests import AnswerRequest, IndexRequest, SearchRequest
from tests.launcher import stdio_session

pytestmark = pytest.mark.slow  # real models: the integration tier

QUERY = "What causes the tides in the ocean?"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def first_pass_model(tmp_path_factory, reranker_path) -> str:
    """The offline reranker with only its first two layers, untrained: this tests the cascade's
    mechanics, not a distilled model's quality."""
    from sentence_transformers import CrossEncoder

    from ragate.scoring.training.distill import truncate

    out = tmp_path_factory.mktemp("first-pass") / "reranker-L2"
    truncate(CrossEncoder(reranker_path, device="cpu"), 2).save(str(out))
    return str(out)


@pytest.fixture
def cascade(tmp_path, make_settings, first_pass_model, examples):
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline

    settings = make_settings(tmp_path, reranker={"first_pass_model": first_pass_model, "first_pass_keep": 5, "backend": "torch"})
    p = Pipeline(settings, Models(settings).load())
    p.index(IndexRequest(paths=[str(examples / "science")]))
    yield p
    p.close()


def test_main_model_reads_only_the_first_pass_top(cascade):
    from ragate.server.timing import Timer

    models = cascade.models
    assert models.first_pass is not None and models.first_pass.reranker.kind == "torch"
    timer = Timer()
    dense, sparse = cascade.retriever.recall(QUERY, filters=None, n=20, collection=None, timer=timer)
    pool = cascade.retriever.fuse(QUERY, dense, sparse, n=20, fusion=None, timer=timer)
    stage = cascade.retriever.rerank_pool(QUERY, pool, profile=cascade.catalog.profile(), timer=timer)

    assert len(pool) == 20 and stage.first_pass.pairs == 20 and stage.pairs == 5 and stage.limited_by == "first_pass"
    # What each model scored: the score caches hold the pairs each one read.
    assert len(models.first_pass.reranker.cache) == 20 and len(models.reranker.cache) == 5
    assert all(c.first_pass is not None for c in pool)
    read = [c for c in pool if c.rerank is not None]
    best_first = sorted(pool, key=lambda c: -c.first_pass)[:5]
    assert {id(c) for c in read} == {id(c) for c in best_first}
    assert all(c.relevance is not None for c in read) and all(c.relevance is None for c in pool if c.rerank is None)

    resp = cascade.search(SearchRequest(query=QUERY, top_k=20, candidates=20))
    assert resp.rerank_stage.first_pass.model.endswith("reranker-L2")
    assert not any(n.startswith("reranked the top") for n in resp.notes)  # a cascade's cut is its configuration, not a cut short
    flags = [r.scores.rerank is not None for r in resp.results]
    assert all(r.scores.first_pass is not None for r in resp.results)
    assert flags == sorted(flags, reverse=True) and 0 < sum(flags) <= 5  # read ones first, the rest below them
    assert resp.results[0].source.endswith("tides.md")

    ans = cascade.answer(AnswerRequest(query=QUERY))
    assert ans.status == "answer" and all(p.scores.relevance is not None and p.scores.rerank is not None for p in ans.passages)

    stats = cascade.stats()["reranker"]["first_pass"]
    assert stats["keep"] == 5 and stats["engine"] == "torch" and stats["error"] is None


def test_a_first_pass_that_cannot_load_leaves_the_main_model_reading_the_pool(tmp_path, make_settings, examples):
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline

    missing = str(tmp_path / "no-such-model")
    settings = make_settings(tmp_path, reranker={"first_pass_model": missing, "backend": "torch"})
    p = Pipeline(settings, Models(settings).load())
    try:
        p.index(IndexRequest(paths=[str(examples / "science")]))
        resp = p.search(SearchRequest(query=QUERY, candidates=12))
        assert resp.rerank_stage.pairs == 12 and resp.rerank_stage.first_pass is None
        error = p.stats()["reranker"]["first_pass"]["error"]
        assert missing in error and "first_pass_model" in error
    finally:
        p.close()


@pytest.mark.anyio
async def test_both_scores_in_cli_and_mcp_search_output(tmp_path, ragate, server_env, first_pass_model, examples):
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_RERANKER_FIRST_PASS_MODEL=first_pass_model,
        RAGATE_RERANKER_FIRST_PASS_KEEP="4",
        RAGATE_RERANKER_BACKEND="onnx",  # the first pass runs on the same exported engines as the reranker
    )
    assert ragate("index", str(examples / "science"), "--no-progress", env_extra=env).returncode == 0
    r = ragate("search", QUERY, "--candidates", "12", "-k", "12", "--json", env_extra=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    stage = out["rerank_stage"]
    assert stage["pairs"] == 4 and stage["first_pass"]["pairs"] == 12 and stage["first_pass"]["engine"] == "onnx"
    scores = [res["scores"] for res in out["results"]]
    assert all(s["first_pass"] is not None for s in scores) and 0 < sum(s["rerank"] is not None for s in scores) <= 4

    r = ragate("search", QUERY, "--candidates", "12", env_extra=env)
    assert r.returncode == 0 and "reranked 4/12 pairs with onnx on cpu after a first pass over 12 with onnx" in r.stderr

    r = ragate("stats", "--json", env_extra=env)
    first_pass = json.loads(r.stdout)["reranker"]["first_pass"]
    assert first_pass["model"] == first_pass_model and first_pass["keep"] == 4 and first_pass["engine"] == "onnx"
    assert "the reranker reads its top 4" in ragate("stats", env_extra=env).stdout

    async with stdio_session(env) as s:
        res = (await s.call_tool("search", {"query": QUERY, "top_k": 3, "candidates": 12})).structured_content
    assert res["rerank_stage"]["first_pass"]["pairs"] == 12
    top = res["results"][0]["scores"]
    assert top["first_pass"] is not None and top["rerank"] is not None and top["relevance"] is not None
