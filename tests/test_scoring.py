"""Scoring signals with hand-computed values, MMR against brute force, calibration maths, and one
IR metric from the evaluation harness checked by hand. The gate is in test_answerability."""

import datetime as dt
import math

import numpy as np
import pytest

from ragate.retrieval.candidates import Candidate
from ragate.scoring.blend import BlendWeights, blend, blend_pool, freshness
from ragate.scoring.calibration import Calibrator, expected_calibration_error, fit, threshold_for_precision
from ragate.scoring.rerankers.base import Reranker
from tests.helpers import chunk

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def days_ago(n):
    return (NOW - dt.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cand(cid, relevance, doc=None, updated=None, authority=0.5, vec=None):
    ch = chunk(cid, doc=doc, updated_at=updated, authority=authority)
    return Candidate(chunk=ch, vector=None if vec is None else np.asarray(vec, np.float32), relevance=relevance, rerank=0.0)


@pytest.mark.parametrize("decay", ["exp", "linear", "gauss"])
def test_freshness_is_half_at_one_half_life(decay):
    assert freshness(days_ago(0), NOW, 30, decay) == pytest.approx(1.0)
    assert freshness(days_ago(30), NOW, 30, decay) == pytest.approx(0.5)
    assert freshness(None, NOW, 30, decay, neutral=0.5) == 0.5  # undated: neutral, not zero


def test_freshness_shapes():
    assert freshness(days_ago(60), NOW, 30, "exp") == pytest.approx(0.25)
    assert freshness(days_ago(60), NOW, 30, "linear") == pytest.approx(0.0)
    assert freshness(days_ago(60), NOW, 30, "gauss") == pytest.approx(math.exp(-math.log(2) * 4))
    assert freshness("not a date", NOW, 30, "exp", neutral=0.4) == 0.4


def brute_force_mmr(score, vecs, lam):
    """Maximal marginal relevance by its definition, picking one item at a time."""
    m = np.stack([v / np.linalg.norm(v) for v in vecs])
    sim = np.clip(m @ m.T, 0, None)
    chosen, rest = [], list(range(len(score)))
    while rest:

        def value(i):
            return lam * score[i] - (1 - lam) * (max(sim[i][j] for j in chosen) if chosen else 0.0)

        best = max(rest, key=lambda i: (value(i), -i))
        chosen.append(best)
        rest.remove(best)
    return chosen


def test_mmr_on_the_blended_score_matches_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = 8
        rel, auth = rng.random(n), rng.random(n)
        vecs = [rng.normal(size=5).astype(np.float32) for _ in range(n)]
        for lam in (0.3, 0.7, 1.0):
            w = BlendWeights(relevance=1.0, retrieval=0, freshness=0, authority=0.5, mmr_lambda=lam, max_chunks_per_doc=n)
            cs = [cand(f"c{i}", float(rel[i]), authority=float(auth[i]), vec=vecs[i]) for i in range(n)]
            ranked = blend(cs, w, now=NOW)
            assert [cs.index(c) for c in ranked] == brute_force_mmr(rel + 0.5 * auth, vecs, lam)
            finals = [c.final for c in ranked]
            assert finals == sorted(finals, reverse=True)  # the penalty never reorders what it scores


def test_a_passage_is_never_penalised_for_resembling_one_ranked_below_it():
    # "best" leads on every signal; "twin" resembles it but sits lower on relevance while "echo" is
    # authority-boosted: relevance-only MMR picked "echo" first and penalised "best" for resembling it.
    w = BlendWeights(relevance=1.0, retrieval=0, freshness=0, authority=1.0, mmr_lambda=0.8)
    best = cand("best", 0.9, authority=1.0, vec=[1, 0])
    echo = cand("echo", 0.95, authority=0.0, vec=[1, 0.05])
    other = cand("other", 0.5, authority=0.5, vec=[0, 1])
    ranked = blend([echo, other, best], w, now=NOW)
    assert ranked[0] is best and best.diversity == 0.0
    for pos, c in enumerate(ranked):  # each penalty is explained by the passages above it alone
        above = ranked[:pos]
        sims = [float(np.dot(c.vector, a.vector) / np.linalg.norm(c.vector) / np.linalg.norm(a.vector)) for a in above]
        assert c.diversity == pytest.approx(0.25 * max([0.0, *sims]))


def test_the_cap_follows_the_final_order_and_says_what_it_left_out():
    w = BlendWeights(relevance=1.0, retrieval=0, freshness=0, authority=1.0, mmr_lambda=1.0, max_chunks_per_doc=2)
    # By relevance alone d1 and d2 are the document's best, but authority puts d3 first.
    cs = [cand("d1", 0.9, doc="d", authority=0.0), cand("d2", 0.8, doc="d", authority=0.0), cand("d3", 0.5, doc="d", authority=1.0)]
    cs.append(cand("x", 0.2, authority=0.0))
    out = blend_pool(cs, w, now=NOW)
    assert [c.chunk.chunk_id for c in out.ranked] == ["d3", "d1", "x"]
    assert [c.chunk.chunk_id for c in out.capped] == ["d2"]
    assert out.capped_within(3) == 1 and out.capped_within(2) == 0


def test_demotions_by_diversity_are_counted_within_the_results_returned():
    w = BlendWeights(freshness=0, authority=0, retrieval=0, mmr_lambda=0.5)
    out = blend_pool([cand("x", 0.9, vec=[1, 0]), cand("dup", 0.85, vec=[1, 0.01]), cand("other", 0.8, vec=[0, 1])], w, now=NOW)
    assert [c.chunk.chunk_id for c in out.ranked] == ["x", "other", "dup"]
    assert out.demoted(2) == 1 and out.demoted(1) == 0


def test_blend_combines_signals_and_caps_chunks_per_document():
    w = BlendWeights(relevance=1.0, freshness=0.2, authority=0.4, half_life_days=30, mmr_lambda=1.0, max_chunks_per_doc=2)
    cs = [
        cand("a", 0.8, updated=days_ago(30), authority=1.0, vec=[1, 0]),
        cand("b", 0.9, updated=days_ago(0), authority=0.0, vec=[0, 1]),
        cand("c1", 0.5, doc="c", vec=[1, 1]),
        cand("c2", 0.4, doc="c", vec=[1, 1]),
        cand("c3", 0.3, doc="c", vec=[1, 1]),
    ]
    ranked = blend(cs, w, now=NOW)
    by_id = {c.chunk.chunk_id: c for c in ranked}
    assert by_id["a"].final == pytest.approx(0.8 + 0.2 * 0.5 + 0.4 * 1.0)
    assert by_id["b"].final == pytest.approx(0.9 + 0.2 * 1.0 + 0.4 * 0.0)
    assert [c.chunk.chunk_id for c in ranked][:2] == ["a", "b"]
    assert "c3" not in by_id  # third chunk of document c is over the cap


def test_retrieval_signal_is_the_fused_score_over_the_pool_best():
    w = BlendWeights(relevance=1.0, retrieval=0.5, freshness=0, authority=0, mmr_lambda=1.0)
    a, b = cand("a", 0.6), cand("b", 0.7)
    a.fused, b.fused = 0.032, 0.008
    ranked = blend([a, b], w, now=NOW)
    assert (a.retrieval, b.retrieval) == (1.0, 0.25)
    assert a.final == pytest.approx(0.6 + 0.5) and b.final == pytest.approx(0.7 + 0.125)
    assert [c.chunk.chunk_id for c in ranked] == ["a", "b"]  # both channels agreeing outweighs a small rerank gap


def test_diversity_penalises_near_duplicates():
    w = BlendWeights(freshness=0, authority=0, mmr_lambda=0.5)
    ranked = blend([cand("x", 0.9, vec=[1, 0]), cand("dup", 0.85, vec=[1, 0.01]), cand("other", 0.8, vec=[0, 1])], w, now=NOW)
    assert [c.chunk.chunk_id for c in ranked] == ["x", "other", "dup"]
    assert ranked[2].diversity > 0.9


def test_platt_fit_recovers_known_scaling_and_improves_ece():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(float)
    params = fit(z, y, "platt", "m", "c")
    assert params.a == pytest.approx(0.5, abs=0.08) and params.b == pytest.approx(-1.0, abs=0.15)
    assert params.ece_after < params.ece_before
    iso = fit(z, y, "isotonic", "m", "c")
    probs = Calibrator(iso)(z)
    assert np.all(np.diff(probs[np.argsort(z)]) >= -1e-12)


def test_platt_stays_finite_on_perfectly_separated_pairs():
    from ragate.scoring.calibration import fit_platt

    a, b = fit_platt(np.array([3.0, 2.5, -4.0, -5.0, -4.5]), np.array([1.0, 1.0, 0.0, 0.0, 0.0]))
    assert 0 < a < 10 and abs(b) < 20  # the smoothed targets (3/4 and 1/5) bound the optimum


def test_ece_and_threshold_by_hand():
    assert expected_calibration_error(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 0, 0, 0]), bins=10) == pytest.approx(
        0.5 * 0.4 + 0.5 * 0.1
    )
    probs = np.array([0.95, 0.9, 0.8, 0.7, 0.6])
    labels = np.array([1, 1, 0, 1, 0])
    assert threshold_for_precision(probs, labels, 1.0) == 0.9
    assert threshold_for_precision(probs, labels, 0.75) == 0.7
    assert threshold_for_precision(probs, np.zeros(5), 0.5) is None


def test_ndcg_from_the_harness_matches_hand_computation():
    from ragate.server.lab.evaluate import metrics

    qrels = {"q": {"d1": 1, "d3": 1}}
    run = {"q": {"d2": 3.0, "d1": 2.0, "d3": 1.0}}
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    m = metrics(qrels, run)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-4)
    assert m["mrr@10"] == pytest.approx(0.5) and m["hit@1"] == 0.0 and m["recall@100"] == 1.0


def _pools(n_queries, reranker_right):
    """Each query's pool: its answer "aN" and a distractor. On the queries `reranker_right` says, fusion
    puts the distractor first and the reranker the answer; on the others, the reverse."""
    from ragate.server.lab.blend_fit import LabelledQuery

    queries, pools = [], []
    for i in range(n_queries):
        right = reranker_right(i)
        a, d = cand(f"a{i}", 0.9 if right else 0.1), cand(f"d{i}", 0.5)
        a.fused, d.fused = (0.030, 0.032) if right else (0.032, 0.030)
        queries.append(LabelledQuery(qid=f"q{i}", text="x", collection="c", judged={f"a{i}": 1}))
        pools.append([d, a])
    return queries, pools


def test_the_reranker_earns_its_weight_only_with_a_gain_beyond_doubt():
    from ragate.server.lab.blend_fit import blend_pair, choose_blend

    in_force = BlendWeights(relevance=1.0, retrieval=0.3, freshness=0, authority=0, mmr_lambda=1.0)

    def key(c):
        return c.chunk.chunk_id

    clear = choose_blend(*_pools(40, lambda i: i % 4 != 0), in_force, key)  # right on 30 of 40
    assert clear["reranker_gain"]["ci_low"] > 0 and clear["chosen"]["w_relevance"] > 0
    assert "weight" in blend_pair(clear).evidence()
    # Right on 6 queries and wrong on 4 of 10: better on average, but not beyond doubt.
    unsure = choose_blend(*_pools(10, lambda i: i < 6), in_force, key)
    assert unsure["reranker_gain"]["mean_difference"] > 0 and unsure["reranker_gain"]["ci_low"] <= 0
    assert unsure["chosen"]["w_relevance"] == 0
    assert blend_pair(unsure).evidence().startswith("reranking not shown to help this collection: reranking changed nDCG@10 by +")


def test_the_reranker_must_help_every_kind_of_question_to_earn_its_weight():
    import dataclasses

    from ragate.server.lab.blend_fit import blend_pair, choose_blend

    in_force = BlendWeights(relevance=1.0, retrieval=0.3, freshness=0, authority=0, mmr_lambda=1.0)

    def key(c):
        return c.chunk.chunk_id

    # Right on all 40 topic questions, on 10 of 20 passage questions: a clear gain over all of them.
    topic, topic_pools = _pools(40, lambda i: True)
    passage, passage_pools = _pools(20, lambda i: i < 10)
    passage = [dataclasses.replace(q, qid=f"p{q.qid}", kind="passage") for q in passage]
    topic = [dataclasses.replace(q, kind="topic") for q in topic]
    mixed = choose_blend(topic + passage, topic_pools + passage_pools, in_force, key)
    assert mixed["reranker_gain"]["ci_low"] > 0 and mixed["reranker_gain_by_kind"]["passage"]["ci_low"] <= 0
    assert mixed["chosen"]["w_relevance"] == 0
    assert blend_pair(mixed).evidence().startswith("reranking not shown to help passage questions")
    # Self-calibration's questions judge the reranker, not the recall stage's weight: set aside, the
    # reranker's weight goes to the recall vote, and the pool ranks as `search --no-rerank` ranks it.
    weights = dataclasses.replace(in_force, retrieval=0.6, freshness=0.1, authority=0.1, mmr_lambda=0.8, max_chunks_per_doc=3)
    aside = choose_blend(topic + passage, topic_pools + passage_pools, weights, key, hybrid_as_configured=True)
    w_relevance, w_retrieval = aside["chosen"]["w_relevance"], aside["chosen"]["w_retrieval"]
    assert (w_relevance, w_retrieval) == (0.0, 1.6) and aside["hybrid"]["w_retrieval"] == 1.6
    # The same questions as one kind: the gain over all of them decides.
    assert choose_blend(topic, topic_pools, in_force, key)["chosen"]["w_relevance"] > 0


def test_a_reranker_set_aside_ranks_the_pool_as_search_without_reranking():
    """Relevance weight 0 with its weight moved to the recall vote gives `--no-rerank`'s order and
    scores: dates, authority, a flagged passage, diversity and the per-document cap included."""
    import dataclasses

    rng = np.random.default_rng(7)
    pool = []
    for i in range(12):
        c = cand(f"c{i}", float(rng.random()), doc=f"d{i % 3}", updated=days_ago(int(rng.integers(0, 900))), authority=float(rng.random()))
        c.vector = rng.normal(size=8).astype(np.float32)
        c.fused = float(rng.random()) / 30
        c.query_flags = ["untrusted_source"] if i == 5 else []
        pool.append(c)
    pool[9].relevance = pool[10].relevance = None  # partly read
    configured = BlendWeights(relevance=1.0, retrieval=0.3, freshness=0.1, authority=0.1, mmr_lambda=0.8, max_chunks_per_doc=3)
    unread = [dataclasses.replace(c, rerank=None, relevance=None) for c in pool]
    aside = [dataclasses.replace(c) for c in pool]
    no_rerank = blend_pool(unread, configured, NOW)
    unread_weights = configured.unread()
    assert (unread_weights.relevance, unread_weights.retrieval) == (0.0, pytest.approx(1.3))
    set_aside = blend_pool(aside, unread_weights, NOW)
    assert [c.chunk.chunk_id for c in set_aside.ranked] == [c.chunk.chunk_id for c in no_rerank.ranked]
    assert [c.final for c in set_aside.ranked] == pytest.approx([c.final for c in no_rerank.ranked])
    assert len(no_rerank.ranked) == 9 and len(no_rerank.capped) == 3  # the cap acted on both alike
    # Moving none of the weight would rank differently: the test can tell.
    kept = blend_pool([dataclasses.replace(c) for c in pool], dataclasses.replace(configured, relevance=0.0), NOW)
    assert [c.final for c in kept.ranked] != pytest.approx([c.final for c in no_rerank.ranked])


class ScriptedReranker(Reranker):
    """The model-free tier's reranker: each passage's logit is given, and every pair read is counted."""

    name, kind, device = "scripted", "scripted", "cpu"

    def __init__(self, logits: dict[str, float]):
        super().__init__("scripted")
        self.logits, self.read = logits, 0

    def _score_uncached(self, queries, passages):
        self.read += len(passages)
        return np.array([self.logits[p] for p in passages], np.float32)


def _fused_pool(n: int) -> list[Candidate]:
    pool = [cand(f"c{i:03d}", None) for i in range(1, n + 1)]  # in fused order: c001 first
    for c in pool:
        c.rerank = None
    return pool


@pytest.mark.parametrize("depth", ["adaptive", "all"])
def test_adaptive_depth_reads_the_tail_only_while_it_still_enters_the_best(depth):
    from ragate.scoring.rerank_stage import RerankPolicy, rerank

    # The reranker mostly agrees with fusion, but fused 28, 35 and 47 are among its best.
    logits = {f"c{i:03d}": 5.0 - i / 20 for i in range(1, 101)} | {"c028": 9.0, "c035": 8.0, "c047": 7.0}
    reranker, pool = ScriptedReranker(logits), _fused_pool(100)
    stage = rerank("q", pool, reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy(depth=depth))
    if depth == "all":
        assert stage.pairs == reranker.read == 100 and stage.limited_by is None
        return
    # Head 1-30 (28 enters the best 5, so 31-40 is read), 35 enters, 41-50 read, 47 enters,
    # 51-60 read and places nothing: the reading stops there.
    assert stage.pairs == reranker.read == 60 and stage.limited_by == "depth"
    assert stage.depth_reason == "read 60 of 100: fused candidates 51-60 placed none in the top 5"
    assert all(c.relevance is not None for c in pool[:60]) and all(c.relevance is None for c in pool[60:])
    ranked = blend(pool, BlendWeights())
    assert [c.chunk.chunk_id for c in ranked[:3]] == ["c028", "c035", "c047"]


def test_a_listwise_reranker_reads_the_whole_pool():
    from ragate.scoring.rerank_stage import RerankPolicy, rerank

    # Its scores are places within the list it was given: blocks read apart would not compare.
    reranker = ScriptedReranker({f"c{i:03d}": 5.0 - i / 20 for i in range(1, 101)})
    reranker.pointwise = False
    stage = rerank("q", _fused_pool(100), reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy())
    assert stage.pairs == reranker.read == 100 and stage.limited_by is None


def test_adaptive_depth_stops_after_the_head_when_fusion_and_reranker_agree():
    from ragate.scoring.rerank_stage import RerankPolicy, rerank

    logits = {f"c{i:03d}": 5.0 - i / 20 for i in range(1, 101)}
    reranker = ScriptedReranker(logits)
    stage = rerank("q", _fused_pool(100), reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy())
    assert stage.pairs == 30 and stage.depth_reason == "read 30 of 100: fused candidates 21-30 placed none in the top 5"
    # Settling more of the best: a head as large as what is settled, and one more block to show nothing deeper enters.
    stage = rerank("q", _fused_pool(100), reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy(depth_settle=40))
    assert stage.pairs == 50 and stage.depth_reason == "read 50 of 100: fused candidates 41-50 placed none in the top 40"
    # A caller asking for 40 results has all 40 read.
    stage = rerank("q", _fused_pool(100), reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy(), top_k=40)
    assert stage.pairs == 40 and stage.depth_reason == "read 40 of 100: fused candidates 31-40 placed none in the top 5"
    # A pool no larger than the head is read whole, with nothing to report.
    stage = rerank("q", _fused_pool(25), reranker=reranker, calibrator=Calibrator(), policy=RerankPolicy())
    assert stage.pairs == 25 and stage.limited_by is None and not stage.depth_reason
