"""Reranker and embedder providers: hosted rerank APIs and model servers against local fakes of
their documented endpoints, a real Infinity server against the in-process engines, a tiny causal
LM, Claude's listwise order against the fake Messages endpoint, and every remote failure over the
real MCP transport."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from ragate.retrieval.deadline import deadline
from ragate.retrieval.errors import ModelUnavailable, StoreError
from ragate.retrieval.remote import RemoteSettings
from ragate.retrieval.remote_embedder import RemoteEmbedder
from ragate.scoring.rerankers.base import logit_of
from ragate.scoring.rerankers.listwise import parse_order, windows
from ragate.scoring.rerankers.remote import RemoteReranker
from tests.launcher import stdio_session

QUERY = "how do tides follow the moon"
DOCS = ["bananas are yellow", "the moon pulls the ocean and tides follow it", "tides are high twice a day"]
KEY = "sk-test-7d1e0f-secret"


def remote(url: str, **kw) -> RemoteSettings:
    return RemoteSettings(url=url, **{"api_key_env": "RAGATE_TEST_KEY", "timeout_s": 1.0, "retries": 1, "backoff_s": 0.05, **kw})


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("RAGATE_TEST_KEY", KEY)
    return KEY


@pytest.mark.parametrize(
    ("provider", "api", "path", "fields"),
    [
        ("cohere", "cohere", "/v2/rerank", {"model", "query", "documents", "top_n"}),
        ("voyage", "voyage", "/v1/rerank", {"model", "query", "documents", "top_k"}),
        ("jina", "jina", "/v1/rerank", {"model", "query", "documents", "top_n", "return_documents"}),
        ("zeroentropy", "zeroentropy", "/v1/models/rerank", {"model", "query", "documents", "top_n"}),
        ("http", "rerank", "/rerank", {"model", "query", "documents"}),
        ("http", "tei", "/rerank", {"query", "texts", "raw_scores", "truncate"}),
        ("http", "score", "/score", {"model", "text_1", "text_2"}),
    ],
)
def test_each_api_is_spoken_in_its_documented_shape(fake_rerank_apis, key, provider, api, path, fields):
    r = RemoteReranker(provider, api, "m1", remote(fake_rerank_apis.url))
    z = r.score(QUERY, DOCS)
    seen_path, headers, body = fake_rerank_apis.seen[-1]
    assert seen_path == path and set(body) == fields and headers["authorization"] == f"Bearer {key}"
    assert int(np.argmax(z)) == 1 and z[0] < z[2]  # read back by index, whatever order the answer lists them in
    if api != "tei":  # probabilities become log-odds: the default sigmoid gives the provider's score back
        relevance = 0.05 + 0.9 * np.array([0, 4, 1]) / 6
        assert np.allclose(z, logit_of(relevance), atol=1e-4)
    assert r.kind == (provider if provider != "http" else f"http-{api}") and r.device == "remote"
    r.close()


def test_billed_units_are_counted_per_call(fake_rerank_apis, key):
    cohere = RemoteReranker("cohere", "cohere", "rerank-v3.5", remote(fake_rerank_apis.url), batch_size=2)
    cohere.score(QUERY, [f"{d} {i}" for i in range(70) for d in DOCS])
    assert cohere.billed == 3  # one search unit per request of up to 100 documents, whatever [reranker] batch_size says
    server = RemoteReranker("http", "rerank", "ce", remote(fake_rerank_apis.url), batch_size=2)
    server.score(QUERY, DOCS)
    assert server.billed == 0 and len(fake_rerank_apis.seen) == 3 + 2  # a model server takes batch_size documents a request
    voyage = RemoteReranker("voyage", "voyage", "rerank-2.5", remote(fake_rerank_apis.url))
    voyage.score(QUERY, DOCS)
    assert voyage.billed == 30


@pytest.mark.parametrize(("mode", "attempts"), [("500", 2), ("malformed", 2), ("partial", 2), ("slow", 2), ("429", 2), ("401", 1)])
def test_remote_failures_are_bounded_and_never_show_the_key(fake_rerank_apis, key, mode, attempts):
    fake_rerank_apis.mode = mode
    r = RemoteReranker("cohere", "cohere", "rerank-v3.5", remote(fake_rerank_apis.url))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as e:
        r.score(QUERY, DOCS)
    elapsed = time.monotonic() - started
    assert len(fake_rerank_apis.seen) == attempts  # 4xx is not retried; the rest once ([reranker] retries = 1)
    assert elapsed < 4.0
    if mode == "429":
        assert elapsed >= 1.0  # Retry-After: 1 was honoured
    assert key not in str(e.value) and fake_rerank_apis.url in str(e.value)
    if mode == "401":
        assert "***" in str(e.value)  # the server quoted the key back; it is scrubbed


def test_the_circuit_opens_after_repeated_failures_and_closes_after_its_cooldown(fake_rerank_apis, key):
    fake_rerank_apis.mode = "500"
    r = RemoteReranker("cohere", "cohere", "m", remote(fake_rerank_apis.url, retries=0, breaker_failures=2, breaker_cooldown_s=0.5))
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            r.score(QUERY, DOCS[:1])
    calls = len(fake_rerank_apis.seen)
    with pytest.raises(ModelUnavailable, match="not called"):
        r.score(QUERY, DOCS[1:2])
    assert len(fake_rerank_apis.seen) == calls and r.describe()["circuit"] == "open"
    fake_rerank_apis.mode = "ok"
    time.sleep(0.6)
    assert r.score(QUERY, DOCS[2:]).shape == (1,) and r.describe()["circuit"] == "closed"


def test_a_probe_cut_short_by_the_callers_deadline_lets_the_next_one_through(fake_rerank_apis, key):
    fake_rerank_apis.mode = "500"
    r = RemoteReranker("cohere", "cohere", "m", remote(fake_rerank_apis.url, retries=0, breaker_failures=1, breaker_cooldown_s=0.2))
    with pytest.raises(ModelUnavailable):
        r.score(QUERY, DOCS[:1])
    time.sleep(0.3)
    fake_rerank_apis.mode = "slow"
    with deadline(0.3), pytest.raises(Exception, match="no answer within|time limit"):
        r.score(QUERY, DOCS[1:2])  # the half-open probe, cut short by the caller
    fake_rerank_apis.mode = "ok"
    time.sleep(0.3)
    assert r.score(QUERY, DOCS[2:]).shape == (1,)  # not refused for good


def test_a_remote_wait_never_outlasts_the_request_deadline(fake_rerank_apis, key):
    fake_rerank_apis.mode = "slow"
    r = RemoteReranker("cohere", "cohere", "m", remote(fake_rerank_apis.url, timeout_s=30, retries=3))
    started = time.monotonic()
    with deadline(0.8), pytest.raises(Exception, match="no answer within|time limit"):
        r.score(QUERY, DOCS)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("api", ["openai", "tei", "ollama"])
def test_remote_embedders_return_normalised_vectors(fake_rerank_apis, api):
    e = RemoteEmbedder(api, "bi", remote(fake_rerank_apis.url, api_key_env=""), batch_size=2)
    v = e.encode(DOCS)
    assert v.shape == (3, 16) and e.dim == 16 and np.allclose(np.linalg.norm(v, axis=1), 1.0)
    fake_rerank_apis.mode = "malformed"
    with pytest.raises(ModelUnavailable, match="malformed|not JSON"):
        e.encode(["x"])


def test_listwise_windows_slide_from_the_bottom_and_replies_are_parsed_forgivingly():
    assert windows(5, 20, 10) == [(0, 5)]
    assert windows(30, 20, 10) == [(10, 30), (0, 20)]
    assert windows(45, 20, 10) == [(25, 45), (15, 35), (5, 25), (0, 20)]
    assert parse_order("[3] > [1] > [3] > [9]", 4) == [2, 0, 1, 3]  # repeats and unknown numbers ignored, the rest kept in order


# ---------------------------------------------------------------- in-process providers


def tiny_causal_lm(path, template):
    """A one-layer causal LM with random weights and a word-level tokenizer that knows the template's words."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    text = " ".join([template.prefix, template.body, template.suffix, QUERY, *DOCS, template.instruction, template.yes, template.no])
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", *sorted(set(text.split()))])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>").save_pretrained(path)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, pad_token_id=0
    )
    LlamaForCausalLM(cfg).save_pretrained(path)
    return str(path)


def test_causal_lm_scores_yes_against_no_at_the_last_position_with_left_padding(tmp_path):
    import torch

    from ragate.scoring.rerankers.causal_lm import TEMPLATES, CausalLmReranker

    t = TEMPLATES["qwen3"]
    r = CausalLmReranker(tiny_causal_lm(tmp_path / "qwen3-tiny", t), device="cpu", batch_size=8, max_length=96)
    prompt = r.tokenizer.decode(r.prompt_ids(QUERY, DOCS[1]))
    assert QUERY.split()[0] in prompt and "moon pulls" in prompt and "<Instruct>:" in prompt and r.instruction.split()[0] in prompt
    z = r.score(QUERY, DOCS)  # one batch: shorter prompts are padded on the left
    for i, d in enumerate(DOCS):  # each prompt alone, unpadded, gives the same log-odds
        with torch.no_grad():
            last = r.model(input_ids=torch.tensor([r.prompt_ids(QUERY, d)])).logits[0, -1]
        assert z[i] == pytest.approx(float(last[r.yes_id] - last[r.no_id]), abs=1e-4)
    long = r.prompt_ids(QUERY, "moon " * 500)
    assert len(long) == 96 and r.tokenizer.decode(long).rstrip().endswith(t.suffix.split()[-1])  # the document is cut, not the template


def test_mxbai_models_get_their_own_prompt_and_answer_tokens(tmp_path):
    from ragate.scoring.rerankers.causal_lm import TEMPLATES, CausalLmReranker

    t = TEMPLATES["mxbai"]
    r = CausalLmReranker(tiny_causal_lm(tmp_path / "mxbai-rerank-tiny", t), device="cpu", max_length=200)
    prompt = r.tokenizer.decode(r.prompt_ids(QUERY, DOCS[1]))
    assert "{instruction}" not in prompt and "relevance expert" in prompt and "Relevance:" in prompt
    assert r.yes_id == r.tokenizer.convert_tokens_to_ids("1") and r.no_id == r.tokenizer.convert_tokens_to_ids("0")


def test_claude_listwise_order_becomes_place_scores(fake_messages, monkeypatch):
    import anthropic

    from ragate.scoring.rerankers.listwise import ListwiseReranker

    def reply(body):  # the passage mentioning "moon" first, then the rest in reverse
        listed = body["messages"][0]["content"].split("Passages:", 1)[1]
        n = listed.count("\n[")
        moon = [i for i in range(1, n + 1) if "moon" in listed.split(f"[{i}]", 1)[1].split("\n", 1)[0]]
        return " > ".join(f"[{i}]" for i in moon + [i for i in range(n, 0, -1) if i not in moon])

    fake_messages.reply = reply
    client = anthropic.Anthropic(api_key="k", base_url=fake_messages.url, max_retries=0, timeout=2)
    r = ListwiseReranker(client, "claude-test", window=2, step=1)
    z = r.score(QUERY, DOCS)
    # The bottom window keeps DOCS[1] above DOCS[2]; the top window lifts it over DOCS[0].
    assert z.tolist() == [-1.0, 0.0, -2.0]
    assert len(fake_messages.seen) == 2 and r.usage["input_tokens"] == 20  # two windows of two
    fake_messages.mode = "error"
    with pytest.raises(ModelUnavailable, match="claude-test"):
        r.score(QUERY, DOCS)


def test_an_index_refuses_vectors_from_another_embedder(pipeline, settings, models, fake_rerank_apis):
    from ragate.server.config_writer import LANGUAGE_PRESETS
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import AddDocumentsRequest

    pipeline.add_documents(AddDocumentsRequest.model_validate({"documents": [{"text": "Tides follow the moon."}]}))
    pipeline.close()
    # A model server; the `init --languages multilingual` embedder (another model, read with prefixes).
    for embedder in ({"provider": "http", "url": fake_rerank_apis.url}, LANGUAGE_PRESETS["multilingual"].settings["embedder"]):
        other = settings.model_copy(update={"embedder": settings.embedder.model_copy(update=embedder)})
        p = Pipeline(other, models)
        try:
            with pytest.raises(StoreError, match=r"indexed with embedder .*all-MiniLM-L6-v2.*384 dimensions") as refused:
                p.catalog.store()
        finally:
            p.close()
        said = str(refused.value)
        assert f"the configured one is {other.embedder.identity!r}" in said
        assert "ragate index PATH -c NEW" in said and "ragate delete --drop-collection -c default" in said  # what to do


# ---------------------------------------------------------------- over the real MCP transport


def _texts(result) -> str:
    return json.dumps(result.structured_content) + " ".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_hosted_reranker_serves_every_tool_and_each_failure_degrades(tmp_path, server_env, fake_rerank_apis, examples):
    errlog = tmp_path / "server.log"
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_RERANKER_PROVIDER="cohere",
        RAGATE_RERANKER_MODEL="rerank-v3.5",
        RAGATE_RERANKER_URL=fake_rerank_apis.url,
        RAGATE_RERANKER_TIMEOUT_S="1",
        RAGATE_RERANKER_RETRIES="1",
        RAGATE_RERANKER_BREAKER_COOLDOWN_S="1",
        RAGATE_RERANKER_BREAKER_FAILURES="100",  # every mode below reaches the server
        RAGATE_SERVER_TOOL_TIMEOUT_S="60",
        COHERE_API_KEY=KEY,
    )
    outputs = []
    async with stdio_session(env, errlog_path=str(errlog)) as s:
        await s.call_tool("index_paths", {"paths": [str(examples / "ragate")]})
        res = await s.call_tool("search", {"query": "how are filters applied", "top_k": 3})
        outputs.append(_texts(res))
        sr = res.structured_content
        assert sr["reranked"] is True and sr["rerank_stage"]["engine"] == "cohere" and sr["rerank_stage"]["device"] == "remote"
        assert any(p == "/v2/rerank" for p, _, _ in fake_rerank_apis.seen)
        rr = await s.call_tool("rerank", {"query": QUERY, "documents": DOCS})
        outputs.append(_texts(rr))
        assert rr.structured_content["results"][0]["index"] == 1 and rr.structured_content["model"] == "cohere:rerank-v3.5"
        st = await s.call_tool("stats", {})
        outputs.append(_texts(st))
        assert st.structured_content["reranker"]["provider"] == "cohere" and "scores" in st.structured_content["reranker"]
        why = {
            "500": "HTTP 500",
            "429": "HTTP 429",
            "malformed": "malformed",
            "partial": "missing",
            "slow": "no complete answer within",
            "401": "HTTP 401",
            "drip": "no complete answer within",  # a byte every 0.2 s
            "huge": "over the limit",  # 300 MB, no length declared
        }
        service_pid = st.structured_content["service"]["pid"]
        rss_before = _rss_mb(service_pid)
        for mode in why:
            fake_rerank_apis.mode = mode
            calls = len(fake_rerank_apis.seen)
            started = time.monotonic()
            query = f"how are filters applied when the server answers {mode}"  # pairs the score cache has not seen
            res = await s.call_tool("search", {"query": query, "top_k": 3})
            assert time.monotonic() - started < 1 * (1 + 1) + 1, mode  # timeout_s × (retries + 1) plus 1 s
            a = await s.call_tool("answer_or_abstain", {"query": query})
            rr = await s.call_tool("rerank", {"query": query, "documents": DOCS})
            assert time.monotonic() - started < 30, mode  # three calls, each well inside the tool timeout
            outputs += [_texts(res), _texts(a), _texts(rr)]
            assert res.structured_content["reranked"] is False and res.structured_content["results"], mode
            assert any("not reranked" in n and why[mode] in n for n in res.structured_content["notes"]), (
                mode,
                res.structured_content["notes"],
            )
            assert len(fake_rerank_apis.seen) > calls, mode
            assert a.structured_content["status"] == "abstain" and a.structured_content["reason"] == "RERANKER_UNAVAILABLE", mode
            assert rr.is_error and "cohere" in rr.content[0].text, mode
        assert _rss_mb(service_pid) - rss_before < 50  # three 300 MB answers later
        fake_rerank_apis.mode = "ok"
        time.sleep(1.2)  # the circuit's cooldown
        res = await s.call_tool("search", {"query": "how are filters applied", "top_k": 3})
        assert res.structured_content["reranked"] is True  # the service kept serving and recovered
    outputs.append(errlog.read_text())
    assert all(KEY not in o for o in outputs)
    assert all(h.get("authorization") == f"Bearer {KEY}" for _, h, _ in fake_rerank_apis.seen)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_model_server_that_is_down_at_start_degrades_and_is_used_once_up(tmp_path, server_env, start_fake_rerank_apis, examples):
    from tests.launcher import free_port

    port = free_port()
    env = server_env(
        str(tmp_path / "q"), RAGATE_RERANKER_PROVIDER="http", RAGATE_RERANKER_URL=f"http://127.0.0.1:{port}", RAGATE_RERANKER_TIMEOUT_S="1"
    )
    async with stdio_session(env) as s:
        await s.call_tool("index_paths", {"paths": [str(examples / "ragate")]})
        res = (await s.call_tool("search", {"query": "filters"})).structured_content
        assert res["reranked"] is False and res["results"] and any("cannot connect" in n for n in res["notes"])
        start_fake_rerank_apis(port)
        res = (await s.call_tool("search", {"query": "filters"})).structured_content
        assert res["reranked"] is True and res["rerank_stage"]["engine"] == "http-rerank"


@pytest.fixture
def anyio_backend():
    return "asyncio"


# ---------------------------------------------------------------- a real model server


@pytest.mark.slow
def test_infinity_agrees_with_the_in_process_engines(infinity_server, models):
    texts = [f"{t} {x}" for t, x in (("Tides", "Ocean tides follow the moon."), ("Insulin", "Insulin lowers blood glucose."))]
    local_r, local_e = models.require_reranker(), models.require_embedder()
    http_r = RemoteReranker("http", "rerank", "ce", RemoteSettings(url=infinity_server))
    http_e = RemoteEmbedder("openai", "bi", RemoteSettings(url=infinity_server))
    corpus = [*texts, *DOCS, "The pancreas makes insulin.", "Volcanoes erupt when gas is trapped.", "Myelin speeds up nerves."]
    for q in (QUERY, "what lowers blood sugar", "why do volcanoes explode"):
        assert spearmanr(http_r.score(q, corpus), local_r.score(q, corpus))[0] >= 0.99
    cos = (http_e.encode(corpus) * local_e.encode(corpus)).sum(axis=1)
    assert cos.min() >= 0.99 and http_e.dim == local_e.dim


@pytest.mark.slow
@pytest.mark.anyio
async def test_search_runs_on_the_model_server_when_configured(tmp_path, server_env, infinity_server, examples):
    env = server_env(
        str(tmp_path / "q"),
        RAGATE_RERANKER_PROVIDER="http",
        RAGATE_RERANKER_URL=infinity_server,
        RAGATE_RERANKER_MODEL="ce",
        RAGATE_EMBEDDER_PROVIDER="http",
        RAGATE_EMBEDDER_URL=infinity_server,
        RAGATE_EMBEDDER_MODEL="bi",
    )
    async with stdio_session(env) as s:
        rep = (await s.call_tool("index_paths", {"paths": [str(examples / "ragate")]})).structured_content
        assert rep["chunks_written"] > 0
        res = (await s.call_tool("search", {"query": "how are filters applied", "top_k": 3})).structured_content
        assert res["reranked"] and res["rerank_stage"]["engine"] == "http-rerank" and res["results"]
        a = (await s.call_tool("answer_or_abstain", {"query": "how are filters applied"})).structured_content
        assert a["status"] in ("answer", "abstain") and a["reason"] != "RERANKER_UNAVAILABLE"
        rr = (await s.call_tool("rerank", {"query": QUERY, "documents": DOCS})).structured_content
        assert rr["results"][0]["index"] in (1, 2) and rr["model"] == "http:ce"
        st = (await s.call_tool("stats", {})).structured_content
        assert st["embedder"]["engine"] == "http-openai" and st["embedder"]["model"] == "http:bi"
        assert st["reranker"]["engine"] == "http-rerank" and st["reranker"]["device"] == "remote"


@pytest.mark.slow
def test_eval_leaderboard_ranks_rerankers_on_the_same_pools(ragate, tmp_path, write_beir, reranker_path, infinity_server, fake_rerank_apis):
    docs = {
        "d1": ("Tides", "Ocean tides are caused by the gravitational pull of the moon."),
        "d2": ("Photosynthesis", "Plants use chlorophyll to turn sunlight into sugar."),
        "d3": ("Insulin", "Insulin from the pancreas lowers blood glucose."),
        "d4": ("Volcanoes", "Silica-rich magma traps gas and erupts explosively."),
        "d5": ("Myelin", "The myelin sheath speeds up nerve conduction."),
    }
    queries = {
        "q1": "What causes ocean tides?",
        "q2": "How do plants make sugar?",
        "q3": "What lowers blood glucose?",
        "q4": "Why do some volcanoes explode?",
    }
    qrels = {"q1": "d1", "q2": "d2", "q3": "d3", "q4": "d4"}
    ds = write_beir(tmp_path / "tiny", docs, queries, {"test": qrels})
    out = tmp_path / "out"
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q"), "RAGATE_RERANKER_URL": fake_rerank_apis.url, "COHERE_API_KEY": KEY}
    specs = f"local:{reranker_path},http:{infinity_server}#ce,cohere:rerank-v3.5,jina:jina-reranker-v2-base-multilingual"
    r = ragate(
        "eval",
        "--dataset",
        str(ds),
        "--variants",
        "hybrid",
        "--candidates",
        "5",
        "--out",
        str(out),
        "--rerankers",
        specs,
        "--json",
        "--no-progress",
        env_extra=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    board = json.loads(r.stdout)["rerankers"]
    rows = {row["reranker"].split(":")[0]: row for row in board["rows"]}
    assert set(rows) == {"local", "http", "cohere"} and [f["reranker"].split(":")[0] for f in board["failed"]] == ["jina"]
    assert abs(rows["local"]["ndcg@10"] - rows["http"]["ndcg@10"]) <= 0.01
    assert (
        rows["cohere"]["billed_per_1000_queries"] == {"units": 1000.0, "unit": "searches"} and rows["cohere"]["usd_per_1000_queries"] == 2.0
    )
    for row in rows.values():
        assert row["p50_ms"] > 0 and row["vs_hybrid"]["summary"] and set(row) >= {"ndcg@10", "mrr@10", "hit@1", "p95_ms"}
    for suffix in (".json", ".md", ".png"):
        assert (out / f"eval_tiny_rerankers{suffix}").is_file()
    text = ragate(
        "eval",
        "--dataset",
        str(ds),
        "--variants",
        "hybrid",
        "--candidates",
        "5",
        "--out",
        str(out),
        "--rerankers",
        f"local:{reranker_path}",
        "--no-progress",
        env_extra=env,
        timeout=600,
    )
    assert text.returncode == 0, text.stderr[-700:]
    assert "| hybrid (no reranker) |" in text.stdout and f"| local:{reranker_path} |" in text.stdout
    assert KEY not in r.stdout + r.stderr


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


@pytest.mark.parametrize("mode", ["drip", "huge", "drip_headers"])
def test_a_dripping_or_huge_answer_is_cut_off_within_the_attempts_time(fake_rerank_apis, key, mode):
    # One byte every 0.2 s would keep every read's timeout alive; 300 MB would fill the memory.
    fake_rerank_apis.mode = mode
    r = RemoteReranker("http", "rerank", "m", remote(fake_rerank_apis.url, timeout_s=1.0, retries=1, max_response_mb=4))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match=r"no complete answer within 1.0 s|over the limit of 4,194,304 bytes \(max_response_mb 4\)"):
        r.score(QUERY, DOCS)
    assert time.monotonic() - started < 1.0 * 2 + 1.0  # timeout_s × (retries + 1) plus 1 s
    assert len(fake_rerank_apis.seen) == 2
    fake_rerank_apis.mode = "ok"
    assert r.score(QUERY, DOCS).shape == (3,)  # the next call, once the server behaves, goes through


def test_a_key_quoted_in_an_error_body_never_shows_in_part(fake_rerank_apis, key):
    # The body is scrubbed of the key before it is cut, wherever the key falls against the cut.
    fake_rerank_apis.mode = "echo"
    r = RemoteReranker("http", "rerank", "m", remote(fake_rerank_apis.url, retries=0, breaker_failures=1000))
    for offset in range(0, 230, 3):
        fake_rerank_apis.echo_offset = offset
        with pytest.raises(ModelUnavailable) as e:
            r.score(QUERY, DOCS)
        shown = str(e.value)
        assert not any(key[i : i + 6] in shown for i in range(len(key) - 5)), (offset, shown)


def test_a_probability_api_score_outside_0_1_is_a_malformed_answer():
    from ragate.scoring.rerankers.remote import API, read_scores

    assert read_scores(API["rerank"], {"results": [{"index": 0, "relevance_score": 0.25}]}, 1).tolist() == [0.25]
    for wrong in (50.0, 1e300, -0.1):
        with pytest.raises(ValueError, match="not a probability"):
            read_scores(API["rerank"], {"results": [{"index": 0, "relevance_score": wrong}]}, 1)
    assert read_scores(API["tei"], [{"index": 0, "score": 50.0}], 1).tolist() == [50.0]  # a raw logit may be any number


def test_a_server_that_reads_the_request_slowly_is_cut_off_at_the_deadline():
    """A send the server drains a little at a time loops inside the library on one timeout: the
    attempt's watchdog ends it at the deadline."""
    import socket
    import threading

    import httpx

    from ragate.retrieval.remote import BoundedClient, read_bounded

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def drain_slowly():
        conn, _ = listener.accept()
        with conn:
            while not done.is_set():
                try:
                    if not conn.recv(65536):
                        return
                except OSError:
                    return
                time.sleep(0.02)  # fast enough that each send completes within its timeout: 20 MB took 7 s

    threading.Thread(target=drain_slowly, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/rerank"
    started = time.monotonic()
    try:
        with BoundedClient(timeout=1.0) as http, pytest.raises(httpx.TimeoutException):
            read_bounded(http, "POST", url, timeout=1.0, max_bytes=1024, content=b"x" * (20 * 1024 * 1024))
        assert time.monotonic() - started < 1.0 + 1.0
    finally:
        done.set()
        listener.close()
