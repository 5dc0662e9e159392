"""The answerability gate: pool features with the real BM25 analyser, the model and its profile, the
risk-controlled threshold against known distributions, and the gate's decisions and reasons."""

import numpy as np
import pytest
from qdrant_client import QdrantClient

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.state import FileDocs, QdrantDocs
from ragate.scoring.answerability import FEATURES, fit_model, pool_features, term_coverage
from ragate.scoring.blend import BlendWeights, blend
from ragate.scoring.gate import WORDING, Reason, decide
from ragate.scoring.profile import Profile, ProfileStore
from ragate.scoring.risk_control import GRID, choose_threshold, clopper_pearson_upper, fewest_to_certify
from tests.helpers import BM25, TIDES, cand, pool


def test_coverage_uses_the_bm25_terms_and_names_the_missing_words():
    p = pool()
    full, missing = term_coverage(query="What causes the tides?", passages=p[:2], pool=p, bm25=BM25)
    assert full == 1.0 and missing == []  # "causes" and "caused" share a stem; stopwords don't count
    part, missing = term_coverage(query="guitar tides", passages=p[:2], pool=p, bm25=BM25)
    assert missing == ["guitar"] and 0.0 < part < 0.5  # the unseen term has the pool's highest IDF
    none, missing = term_coverage(query="the of and", passages=p[:2], pool=p, bm25=BM25)
    assert none == 0.0 and missing == []


def test_containment_asks_for_the_terms_together_in_one_passage():
    # Coverage counts terms anywhere in the top passages; containment wants them in one passage.
    spread = pool(
        [("a", "Tides rise under the Moon twice a day.", 0.9, 0.6, 5.0), ("b", "A gravitational pull acts between masses.", 0.8, 0.5, 4.0)]
    )
    together = pool([("c", "Tides rise as the Moon's gravitational pull draws the oceans.", 0.9, 0.6, 5.0), *TIDES[2:]])
    query = "gravitational pull of the Moon on tides"
    f_spread = pool_features(query=query, pool=spread, bm25=BM25)
    f_together = pool_features(query=query, pool=together, bm25=BM25)
    assert f_spread["coverage"] == f_together["coverage"] == 1.0
    assert f_together["containment"] == 1.0 and f_spread["containment"] == pytest.approx(0.5)


def test_pool_features_by_hand():
    f = pool_features(query="What causes the tides?", pool=pool(), bm25=BM25)
    assert set(f) == set(FEATURES)
    assert f["top_relevance"] == pytest.approx(np.log(0.97 / 0.03))
    assert f["margin"] == pytest.approx(np.log(0.97 / 0.03) - np.log(0.9 / 0.1))
    assert f["mean_top_relevance"] == pytest.approx((0.97 + 0.9 + 0.3) / 3)
    assert f["count_relevant"] == 2
    assert (f["top_cosine"], f["max_cosine"]) == (0.71, 0.71)
    assert f["bm25_lead"] == pytest.approx(9.0 / np.mean([9.0, 7.5, 2.0, 3.0]))
    assert f["agreement"] == 1.0  # the best passage leads both channels
    reordered = pool([TIDES[0][:3] + (0.5, 2.5), *TIDES[1:]])  # second in dense, third in BM25
    assert pool_features(query="tides", pool=reordered, bm25=BM25)["agreement"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    same_doc = [*pool(), cand("moon-2", "The Moon's pull raises a bulge of water.", 0.95, 0.6, 6.0, doc="moon")]
    assert pool_features(query="tides", pool=same_doc, bm25=BM25)["margin"] == f["margin"]  # runner-up is another document


def test_model_fits_and_its_profile_belongs_to_one_collection_and_model(tmp_path):
    # Off-topic pools differ in cosine, near-topic ones in the best relevance: each stage finds its own.
    rng = np.random.default_rng(0)
    shift = {"answerable": {}, "near_topic": {"top_relevance": -1.5}, "off_topic": {"max_cosine": -1.5}}
    kinds = ["answerable", "near_topic", "off_topic"] * 100
    rows = [{f: rng.normal(shift[k].get(f, 0.0), 0.5) for f in FEATURES} for k in kinds]
    m = fit_model(rows, kinds)
    w = m.weights()
    assert max(w["on_topic"], key=lambda f: abs(w["on_topic"][f])) == "max_cosine"
    assert max(w["answers"], key=lambda f: abs(w["answers"][f])) == "top_relevance"
    p, k = m.predict(rows), np.array(kinds)
    assert p[k == "answerable"].mean() > 0.7 > 0.3 > max(p[k == "near_topic"].mean(), p[k == "off_topic"].mean())
    m.threshold = 0.8
    # The same in the index folder and in a server's own collection (the code path a cluster uses).
    for docs in (FileDocs(tmp_path), QdrantDocs(QdrantClient(location=":memory:"), ":memory:")):
        store = ProfileStore(docs)
        store.save("notes", Profile(source="self", embedder="e", reranker="r", chunking="c", answerability=m, fitted_on="notes"))
        back = store.current("notes", embedder="e", reranker="r", chunking="c")
        assert back.source == "self" and back.answerability.threshold == 0.8 and np.allclose(back.answerability.predict(rows), p)
        # Fitted for other models, or for another collection, it governs nothing: the next source in line does.
        assert store.current("notes", embedder="e", reranker="other", chunking="c").source in ("default", "none")
        assert store.current("notes", embedder="e", reranker="r", chunking="tokens=512").source in ("default", "none")
        assert store.current("papers", embedder="e", reranker="r", chunking="c").source in ("default", "none")
        # A labelled calibration of the same collection takes precedence over its self-calibration.
        store.save("notes", Profile(source="labelled", embedder="e", reranker="r", chunking="c", fitted_on="qrels"))
        assert store.current("notes", embedder="e", reranker="r", chunking="c").fitted_on == "qrels"
        assert list(store.available("notes", embedder="e", reranker="r", chunking="c"))[:2] == ["labelled", "self"]
        store.remove("notes")
        assert store.current("notes", embedder="e", reranker="r", chunking="c").source in ("default", "none")
    with pytest.raises(ValueError):
        fit_model(rows[:2], ["answerable", "near_topic"])  # no off-topic pool: the first stage cannot be fitted


def test_clopper_pearson_matches_closed_forms():
    # With no errors the bound is 1 - (1 - confidence)^(1/n); with all errors, 1.
    assert clopper_pearson_upper(errors=0, n=59, confidence=0.95) == pytest.approx(1 - 0.05 ** (1 / 59))
    assert clopper_pearson_upper(errors=5, n=5, confidence=0.9) == 1.0
    assert clopper_pearson_upper(errors=3, n=100, confidence=0.9) > 0.03
    # The fewest that can certify a target at all: one fewer cannot, even with none accepted.
    for target, confidence, fewest in ((0.05, 0.9, 45), (0.05, 0.95, 59), (0.3, 0.9, 7)):
        assert fewest_to_certify(max_false_accept=target, confidence=confidence) == fewest
        assert clopper_pearson_upper(errors=0, n=fewest, confidence=confidence) <= target
        assert clopper_pearson_upper(errors=0, n=fewest - 1, confidence=confidence) > target
        at_most = choose_threshold(answerable=np.ones(5), unanswerable=np.zeros(fewest - 1), max_false_accept=target, confidence=confidence)
        assert at_most.threshold > 1  # never answers: what self-calibration refuses to store


def test_threshold_is_the_lowest_before_the_first_failure():
    rng = np.random.default_rng(1)
    u, a = rng.uniform(0, 1, 400), rng.uniform(0.5, 1, 400)
    c = choose_threshold(answerable=a, unanswerable=u, max_false_accept=0.1, confidence=0.9)
    assert c.false_accept_bound <= 0.1 and c.unanswerable == 400 and c.answerable == 400
    lower = GRID[np.searchsorted(-GRID, -c.threshold) + 1]
    assert clopper_pearson_upper(errors=int((u >= lower).sum()), n=400, confidence=0.9) > 0.1
    assert c.false_abstain_rate == pytest.approx((a < c.threshold).mean())
    few = choose_threshold(answerable=a, unanswerable=u[:10], max_false_accept=0.05, confidence=0.9)
    assert few.threshold > 1 and few.false_abstain_rate == 1.0  # 10 queries cannot certify 5%: never answer


def test_guarantee_holds_over_repeated_calibration_draws():
    # Unanswerable scores ~ U(0,1), so a threshold t has a true false-accept rate of 1 - t. Over many
    # calibration sets, the chosen threshold may break the target in at most 1 - confidence of them.
    rng = np.random.default_rng(2)
    violations = 0
    for _ in range(300):
        c = choose_threshold(answerable=np.ones(10), unanswerable=rng.uniform(0, 1, 200), max_false_accept=0.1, confidence=0.9)
        violations += (1 - min(c.threshold, 1.0)) > 0.1
    assert violations / 300 <= 0.1 + 0.05


def test_gate_reasons_and_fallback_rule():
    kw = dict(min_score=0.5, max_passages=5, bm25=BM25)
    assert decide([], query="tides", **kw).reason is Reason.NO_CANDIDATES
    assert decide(pool(), query="tides", reranked=False, **kw).reason is Reason.RERANKER_UNAVAILABLE
    mixed = decide(pool(), query="What causes the tides?", mixed=True, **kw)  # collections calibrated differently
    assert (
        mixed.status == "abstain"
        and mixed.reason is Reason.MIXED_CALIBRATION
        and mixed.nearest
        and "calibrated differently" in mixed.abstain_message()
    )
    d = decide(pool(), query="What causes the tides?", **kw)
    assert d.status == "answer" and not d.calibrated and d.p_answerable == pytest.approx(0.97) and d.threshold == 0.5
    assert [c.chunk.chunk_id for c in d.passages] == ["moon", "sun"]  # below min_score never passes
    off = pool([(cid, text, rel, 0.12, b) for cid, text, rel, _, b in TIDES])  # confident reranker, far in cosine
    d = decide(off, query="What causes the tides?", **kw)
    assert d.status == "abstain" and d.reason is Reason.OFF_TOPIC and d.p_answerable == 0.0 and not d.passages and d.nearest
    d = decide(pool(), query="guitar chord tuning of tides", **kw)
    assert d.reason is Reason.LEXICAL_MISS and set(d.missing_terms) == {"guitar", "chord", "tuning"}
    weak = [cand(f"w{i}", "Tides rise and fall twice a day.", 0.3 - i * 0.01, 0.6, 5.0) for i in range(4)]
    d = decide(weak, query="tides", **kw)
    assert d.reason is Reason.AMBIGUOUS and d.suggestion == WORDING[Reason.AMBIGUOUS].suggestion
    one_doc = [cand(f"w{i}", "Tides rise and fall twice a day.", 0.3 - i * 0.01, 0.6, 5.0, doc="d") for i in range(4)]
    assert decide(one_doc, query="tides", **kw).reason is Reason.LOW_RELEVANCE
    assert all(WORDING[r].suggestion for r in Reason) and all(WORDING[r].message for r in Reason if r is not Reason.ANSWERABLE)


def test_fitted_model_decides_and_reports_its_guarantee():
    rows = [pool_features(query="What causes the tides?", pool=pool(), bm25=BM25)]
    off = [pool_features(query="guitar chord tuning", pool=pool(), bm25=BM25)]
    weak = pool([(cid, text, rel / 4, cos, b) for cid, text, rel, cos, b in TIDES])
    near = [pool_features(query="What causes the tides?", pool=weak, bm25=BM25)]
    m = fit_model(rows * 20 + near * 20 + off * 20, ["answerable"] * 20 + ["near_topic"] * 20 + ["off_topic"] * 20)
    m.threshold, m.false_accept_bound = 0.6, 0.04
    kw = dict(min_score=0.5, max_passages=5, bm25=BM25, model=m)
    d = decide(pool(), query="What causes the tides?", **kw)
    assert d.status == "answer" and d.calibrated and d.p_answerable > 0.6 and d.false_accept_bound == 0.04
    d = decide(pool(), query="guitar chord tuning", **kw)
    assert d.status == "abstain" and d.calibrated and d.p_answerable < 0.6 and d.threshold == 0.6
    assert d.reason is Reason.OFF_TOPIC  # named by the model's on-topic stage, though the cosine is high
    # A pool the model answers cites the head of the blended order, as search ranks it, whatever the
    # configured min_score (the threshold was certified on the pool's judgement)...
    m.threshold = 0.0
    blended = pool()[::-1]  # the blend's order, which need not be the reranker's
    d = decide(blended, query="What causes the tides?", **{**kw, "min_score": 0.99, "max_passages": 2})
    assert d.status == "answer" and [c.chunk.chunk_id for c in d.passages] == ["orbit", "coast"]
    # ...unless the caller set min_score itself: then no passage below it is returned.
    d = decide(pool(), query="What causes the tides?", **{**kw, "min_score": 0.99}, strict=True)
    assert d.status == "abstain" and d.reason is Reason.LOW_RELEVANCE and not d.passages


def test_under_the_uncalibrated_rule_blend_cannot_lift_a_weak_passage_past_the_gate():
    w = BlendWeights(relevance=1.0, freshness=5.0, authority=5.0, mmr_lambda=1.0)
    weak = cand("weak", "Tides follow the Moon.", 0.1, 0.6, 4.0)
    weak.chunk.authority = 1.0
    ranked = blend([weak, cand("ok", "The Moon causes tides.", 0.6, 0.7, 5.0)], w)
    assert ranked[0].chunk.chunk_id == "weak"  # blending may reorder...
    d = decide(ranked, query="tides moon", min_score=0.5, max_passages=5, bm25=BM25)
    assert [c.chunk.chunk_id for c in d.passages] == ["ok"]  # ...but with no fitted model only relevance passes the gate


def test_a_chinese_or_japanese_query_names_its_missing_terms_one_by_one():
    """With the multilingual tokenizer a question without spaces has terms, and an abstention names
    the missing ones, not the whole question."""
    bm25 = Bm25Encoder(tokenizer="multilingual")
    zh = [cand("zh", "八达岭长城位于北京。", 0.5, 0.5, 1.0)]
    _, missing = term_coverage(query="八达岭长城的门票多少钱？", passages=zh, pool=zh, bm25=bm25)
    assert "门票" in missing and "八达岭长城的门票多少钱" not in missing and not {"八达岭", "长城"} & set(missing)
    ja = [cand("ja", "万里の長城は中国にあります。", 0.5, 0.5, 1.0)]
    _, missing = term_coverage(query="万里の長城の入場料はいくらですか", passages=ja, pool=ja, bm25=bm25)
    assert "いくら" in missing and "長城" not in missing and len(missing) > 1


def test_a_stored_calibration_that_is_not_in_force_says_why(tmp_path):
    """An unreadable profile, or one fitted for other models, is set aside for the next one down,
    and the store says which and why (stats, doctor and every response's notes read this)."""
    docs = FileDocs(tmp_path)
    store = ProfileStore(docs)
    models = {"embedder": "e", "reranker": "r", "chunking": "c"}
    assert store.set_aside("default", **models) == {}
    docs.write(ProfileStore.name("default", "self"), "{not json")
    store.save("default", Profile(source="labelled", embedder="old-e", reranker="r", chunking="c"))
    aside = store.set_aside("default", **models)
    assert set(aside) == {"labelled", "self"}
    assert "fitted for other settings (embedder 'old-e', now 'e')" in aside["labelled"]
    assert "cannot be read" in aside["self"]
    assert store.current("default", **models).source in ("default", "none")
    store.save("default", Profile(source="self", **models))  # fitted again: in force, nothing said of it
    assert set(store.set_aside("default", **models)) == {"labelled"}
    assert store.current("default", **models).source == "self"


def test_the_gate_judges_the_same_pool_whatever_the_candidates_and_the_cap(make_settings, models, tmp_path):
    """A fitted gate reads its model's fused head of the whole pool: neither a smaller [retrieval]
    candidates nor the blend's per-document cap (which leaves passages out of the ranking) changes
    which passages it judges, so its probability does not move."""
    from ragate.server.pipeline import Pipeline
    from ragate.server.requests import AnswerRequest, IndexRequest
    from tests.helpers import EXAMPLES, QUESTIONS

    seen = {}
    for n in (30, 100):
        p = Pipeline(make_settings(tmp_path / str(n), retrieval={"candidates": n}, blend={"max_chunks_per_doc": 1}), models)
        try:
            p.index(IndexRequest(paths=[str(EXAMPLES / "corpus")]))
            seen[n] = [p.answer(AnswerRequest(query=q)).p_answerable for q in QUESTIONS[:10]]
        finally:
            p.close()
    assert seen[30] == seen[100]
