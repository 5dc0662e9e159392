"""The web page's parts that hold a rule of their own: what a bar's length means, how long a login
lasts, what the recent calls keep, and which kept files a URL can reach."""

from __future__ import annotations

import time

from ragate.server.recent_calls import MAX_CALLERS, RecentCalls, calling_as
from ragate.server.requests import SearchRequest
from ragate.server.schemas import ScoreBreakdown, SearchResult
from ragate.server.ui import sessions as ui_sessions
from ragate.server.ui.views import score_bars


def _result(rank: int, *, relevance: float, rerank: float, bm25: float | None) -> SearchResult:
    scores = ScoreBreakdown(
        dense=0.5,
        bm25=bm25,
        fused=0.01 * rank,
        rerank=rerank,
        relevance=relevance,
        retrieval=1.0,
        freshness=0.5,
        authority=0.5,
        diversity=0.0,
    )
    return SearchResult(
        rank=rank,
        chunk_id=f"c{rank}",
        doc_id="d",
        collection="default",
        source="s",
        title="t",
        heading_path=[],
        text="x",
        score=relevance,
        scores=scores,
        source_type="text",
        char_start=0,
        char_end=1,
    )


def test_bars_draw_probabilities_on_0_1_and_logits_by_their_place_in_the_results():
    rows = score_bars([_result(1, relevance=0.9, rerank=4.0, bm25=None), _result(2, relevance=0.3, rerank=-2.0, bm25=None)])
    by_name = [{b.name: b for b in bars} for bars in rows]
    assert by_name[0]["relevance"].percent == 90.0 and by_name[1]["relevance"].percent == 30.0
    # A logit has no scale of its own: the best shown fills the bar, the lowest shows none; it is
    # drawn hollow and labelled a logit, so it is not read as a probability.
    assert by_name[0]["rerank"].percent == 100.0 and by_name[1]["rerank"].percent == 0.0
    assert by_name[0]["rerank"].relative and not by_name[0]["relevance"].relative and by_name[0]["rerank"].label == "rerank logit"
    assert by_name[0]["score"].relative  # a weighted sum of the components, not a value on 0..1
    assert "between the lowest and highest" in by_name[0]["rerank"].tip and "on 0..1" in by_name[0]["relevance"].tip
    assert "bm25" not in by_name[0]  # a channel that scored nothing shown gets no column
    # One result: nothing to compare a logit to, so no bar (a lone -1.7 once drew a full one).
    (alone,) = score_bars([_result(1, relevance=0.2, rerank=-1.672, bm25=None)])
    assert {b.name: b for b in alone}["rerank"].percent == 0.0


def test_recent_calls_are_bounded_and_keep_query_text_only_when_asked():
    private = RecentCalls(size=3, keep_queries=False, default_collection="default")
    for i in range(5):
        private.record("search", 0.01, request=SearchRequest(query=f"secret {i}"))
    private.record("stats", 0.01)  # the page's own reads of the index state are not listed
    calls = private.newest_first()
    assert len(calls) == 3 and all(c.query is None for c in calls) and calls[0].collection == "default"
    kept = RecentCalls(size=3, keep_queries=True, default_collection="default")
    kept.record("search", 0.01, request=SearchRequest(query="tides", collection="notes"), error=ValueError("x"))
    (c,) = kept.newest_first()
    assert c.query == "tides" and c.collection == "notes" and c.outcome == "internal"


def test_each_caller_keeps_its_own_recent_calls():
    calls = RecentCalls(size=2, keep_queries=False, default_collection="default")
    with calling_as("oauth:alice"):
        calls.record("search", 0.01, request=SearchRequest(query="q"))
    with calling_as("oauth:mallory"):
        for _ in range(50):
            calls.record("search", 0.01, request=SearchRequest(query="q"))
    listed = [c.caller for c in calls.newest_first()]
    assert listed == ["oauth:mallory", "oauth:mallory", "oauth:alice"]
    for i in range(MAX_CALLERS):  # callers past the bound: the one quiet longest is forgotten first
        with calling_as(f"oauth:u{i}\n" + "x" * 500):
            calls.record("search", 0.01, request=SearchRequest(query="q"))
    kept = {c.caller for c in calls.newest_first()}
    assert len(kept) == MAX_CALLERS and "oauth:alice" not in kept and all(len(c) <= 64 and c.isprintable() for c in kept)


def test_a_one_time_code_opens_once_and_a_session_ends_with_its_credential(monkeypatch):
    s = ui_sessions.Sessions(minutes=60)
    code = s.one_time_code()
    assert s.redeem(code) and not s.redeem(code) and not s.redeem("made-up")
    monkeypatch.setattr(ui_sessions, "ONE_TIME_S", -1.0)
    assert not s.redeem(s.one_time_code())  # expired before use
    short = s.open(who="viewer", can_write=False, expires_at=time.time() + 0.2)
    assert s.get(short.id) is short
    time.sleep(0.3)
    assert s.get(short.id) is None and s.get("") is None
