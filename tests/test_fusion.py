import math

from ragate.retrieval.fusion import fuse, minmax, rrf_score
from ragate.retrieval.store import Hit
from tests.helpers import chunk


def hit(cid, score, collection=""):
    return Hit(chunk(cid), score, collection=collection)


def test_rrf_by_hand():
    # a: dense rank 1, bm25 rank 3 → 1/61 + 1/63; b: dense rank 2 only → 1/62; c: bm25 rank 1 only.
    dense = [hit("a", 0.9), hit("b", 0.8)]
    bm25 = [hit("c", 7.0), hit("d", 5.0), hit("a", 4.0)]
    out = {f.chunk.chunk_id: f for f in fuse(dense, bm25, method="rrf", rrf_k=60, dense_weight=1, bm25_weight=1)}
    assert math.isclose(out["a"].fused, 1 / 61 + 1 / 63)
    assert math.isclose(out["b"].fused, 1 / 62)
    assert math.isclose(out["c"].fused, 1 / 61)
    assert out["a"].dense == 0.9 and out["a"].bm25 == 4.0 and out["b"].bm25 is None
    ranked = [f.chunk.chunk_id for f in fuse(dense, bm25, method="rrf", rrf_k=60, dense_weight=1, bm25_weight=1)]
    assert ranked[0] == "a"


def test_rrf_weights_and_missing_lists():
    assert rrf_score([1, None], 60, [2.0, 1.0]) == 2.0 / 61
    assert rrf_score([None, None], 60, [1.0, 1.0]) == 0.0


def test_weighted_fusion_normalises_each_channel():
    dense = [hit("a", 0.9), hit("b", 0.5), hit("c", 0.1)]
    bm25 = [hit("c", 10.0), hit("a", 0.0)]
    out = {f.chunk.chunk_id: f.fused for f in fuse(dense, bm25, method="weighted", dense_weight=0.75, bm25_weight=0.25)}
    assert math.isclose(out["a"], 0.75 * 1.0 + 0.25 * 0.0)
    assert math.isclose(out["b"], 0.75 * 0.5)
    assert math.isclose(out["c"], 0.75 * 0.0 + 0.25 * 1.0)


def test_minmax_edges_and_limit():
    assert minmax([]) == [] and minmax([3.0, 3.0]) == [1.0, 1.0]
    assert len(fuse([hit(str(i), 1 - i / 100) for i in range(50)], [], limit=10)) == 10


def test_one_chunk_id_in_two_collections_is_two_candidates():
    # The same file indexed into two collections: each copy keeps its own ranks and names its collection.
    dense = [hit("a", 0.9, "notes"), hit("a", 0.8, "papers")]
    bm25 = [hit("a", 3.0, "papers")]
    out = {(f.collection, f.chunk.chunk_id): f for f in fuse(dense, bm25, method="rrf", rrf_k=60, dense_weight=1, bm25_weight=1)}
    assert set(out) == {("notes", "a"), ("papers", "a")}
    assert math.isclose(out[("papers", "a")].fused, 1 / 62 + 1 / 61) and out[("notes", "a")].bm25 is None


def test_weighted_fusion_scales_bm25_within_each_collection():
    # One collection's BM25 runs to 40, the other's to 4: each collection's best is its own 1.0.
    bm25 = [hit("a", 40.0, "big"), hit("b", 20.0, "big"), hit("c", 4.0, "small"), hit("d", 2.0, "small")]
    out = {f.chunk.chunk_id: f.fused for f in fuse([], bm25, method="weighted", dense_weight=0, bm25_weight=1)}
    assert out["a"] == out["c"] == 1.0 and out["b"] == out["d"] == 0.0


def test_a_pool_of_differently_calibrated_collections_reads_each_passage_by_its_own():
    from ragate.retrieval.candidates import Candidate
    from ragate.scoring.calibration import CalibrationParams
    from ragate.scoring.profile import Profile
    from ragate.server.catalog import _scores_alike
    from ragate.server.retriever import Ranked, _relevance_by_collection
    from ragate.server.timing import Timer

    shifted = Profile(source="self", fitted_on="notes", relevance=CalibrationParams(method="platt", a=1.0, b=-2.0, pairs=40))
    # Calibrations that score alike are one calibration, whatever they were fitted on and when.
    assert _scores_alike(Profile(source="self", fitted_on="a", fitted_at="1"), Profile(source="self", fitted_on="b", fitted_at="2"))
    assert not _scores_alike(shifted, Profile(source="default"))
    profiles = {"notes": shifted, "papers": Profile(source="default")}
    cands = [Candidate(chunk=hit(c, 0).chunk, rerank=2.0, collection=c) for c in ("notes", "papers")]
    _relevance_by_collection(cands, profiles)  # no shared calibration fits: each passage by its own
    assert math.isclose(cands[0].relevance, 0.5) and math.isclose(cands[1].relevance, 1 / (1 + math.exp(-2.0)))
    said = Ranked(cands, cands, None, [], Timer(), profiles, None).calibration()
    assert said["calibration"] == "mixed" and "notes: self" in said["relevance_fitted_on"]
    shared = Ranked(cands, cands, None, [], Timer(), profiles, Profile(source="default")).calibration()
    assert shared["calibration"] == "default"


def test_a_smaller_pool_is_the_head_of_a_larger_one(pipeline):
    """`candidates` cuts the fused pool, not the channels' lists it is fused from: fused from lists
    cut at 5, a passage third in one channel and absent from the other's top 5 ranks otherwise."""
    from ragate.server.requests import IndexRequest
    from ragate.server.timing import Timer
    from tests.helpers import EXAMPLES, QUESTIONS

    pipeline.index(IndexRequest(paths=[str(EXAMPLES / "corpus")]))
    r = pipeline.retriever
    for q in QUESTIONS[:8]:
        small = [c.chunk.chunk_id for c in r.pool(q, n=5, filters=None, collection=None, timer=Timer())]
        large = [c.chunk.chunk_id for c in r.pool(q, n=40, filters=None, collection=None, timer=Timer())]
        assert small == large[:5], q
