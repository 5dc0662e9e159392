"""What every process on one store shares (retrieval/state.py): documents listed by folder,
append-only logs, and what is built on them — agents' feedback, each process's drift window and
the kept evaluations — alike on the embedded store's files and in a Qdrant server's `ragate.state`
(an in-memory Qdrant here, read through the same client code a cluster uses)."""

import json
import time

import numpy as np
import pytest
from qdrant_client import QdrantClient

from ragate.retrieval import state
from ragate.retrieval.state import FileDocs, QdrantDocs
from ragate.scoring import drift
from ragate.scoring.drift import DriftMonitor
from ragate.scoring.profile import QUANTILES, Reference
from ragate.server.feedback import FeedbackLog
from ragate.server.lab import eval_archive


@pytest.fixture(params=["files", "server"])
def shared(request, tmp_path, monkeypatch):
    """A factory of StateDocs that all read one store, as two replicas' processes would."""
    monkeypatch.setattr(state, "RELOAD_S", 0.05)
    if request.param == "files":
        return lambda: FileDocs(tmp_path)
    client = QdrantClient(location=":memory:")
    return lambda: QdrantDocs(client, "in-memory")


def test_logs_keep_every_line_whole_in_order_and_folders_list_only_their_documents(shared):
    a, b = shared(), shared()
    lines = ["one", "two \u2028 with a separator", json.dumps({"q": "x"})]
    for i, line in enumerate(lines):
        (a if i % 2 else b).append("log.jsonl", line)
    assert a.lines("log.jsonl") == b.lines("log.jsonl") == lines
    assert a.lines("missing.jsonl") == []
    a.write("folder/x.json", "{}")
    b.write("folder/y.json", "{}")
    a.write("folder/deeper/z.json", "{}")
    a.write("other.json", "{}")
    assert b.documents("folder") == {"folder/x.json": "{}", "folder/y.json": "{}"}
    assert a.documents("nothing") == {}


def test_feedback_from_two_processes_is_counted_by_both_and_a_torn_line_is_skipped(shared):
    a, b = FeedbackLog(shared()), FeedbackLog(shared())
    verdict = {"text": "Tides follow the moon.", "chunk_id": "c1", "collection": "default", "note": None, "reranker": "r"}
    assert a.append(query="tides?", relevant=True, **verdict) == 1
    assert b.append(query="moon?", relevant=False, **verdict) == 2
    a.docs.append("feedback.jsonl", '{"query": "torn')  # a write cut short, or a hand edit
    time.sleep(0.1)
    assert a.counts() == b.counts() == {"entries": 2, "useful": 1, "unreadable_lines": 1}
    assert [r["query"] for r in b.rows()] == ["tides?", "moon?"]


def test_drift_is_reported_over_every_process_on_the_store(shared, monkeypatch):
    monkeypatch.setattr(drift, "FLUSH_S", 0.0)
    reference = Reference(
        pools=200, p_answerable=list(np.linspace(0, 1, len(QUANTILES))), top_relevance=list(np.linspace(0, 1, len(QUANTILES)))
    )
    a, b = DriftMonitor(shared()), DriftMonitor(shared())
    for _ in range(30):
        a.record("default", p_answerable=0.99, top_relevance=0.99)
        b.record("default", p_answerable=0.98, top_relevance=0.97)
    b.record("other", p_answerable=0.5)
    seen = a.report("default", reference)
    assert seen["processes"] == 2 and seen["p_answerable"]["queries"] == 60
    assert seen["p_answerable"]["drifting"] is True  # 60 queries, all far above the reference's median
    assert b.report("default", reference)["p_answerable"]["queries"] == 60
    assert a.report("other", None)["p_answerable"]["queries"] == 1


def test_a_stale_drift_window_is_dropped(shared, monkeypatch):
    docs = shared()
    docs.write("drift/default/gone.json", json.dumps({"at": time.time() - drift.STALE_S - 1, "window": {"p_answerable": [0.5]}}))
    seen = DriftMonitor(docs).report("default", None)
    assert seen["processes"] == 1 and seen["p_answerable"]["queries"] == 0
    assert docs.documents("drift/default") == {}


def test_kept_evaluations_serve_only_their_own_plots(shared, tmp_path):
    import os

    docs = shared()
    out = tmp_path / "out"
    out.mkdir()
    (out / "eval_tiny_precision_coverage.png").write_bytes(b"\x89PNG tiny")
    (out / "eval_other_precision_coverage.png").write_bytes(b"\x89PNG other")
    stale = out / "eval_tiny_rerankers.png"  # left by an earlier run
    stale.write_bytes(b"\x89PNG")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    eval_archive.keep(docs, collection="beir_tiny", report={"dataset": "tiny", "variants": {}}, written_to=out, since=time.time() - 60)
    (kept,) = eval_archive.latest(shared())
    assert kept["collection"] == "beir_tiny" and kept["plots"] == ["eval_tiny_precision_coverage.png"]
    assert eval_archive.plot(shared(), "beir_tiny", "eval_tiny_precision_coverage.png") == b"\x89PNG tiny"
    for collection, name in (
        ("beir_tiny", "../latest.json"),
        ("..", "x.png"),
        ("beir_tiny", "eval_other_precision_coverage.png"),
        ("a/b", "x.png"),
    ):
        assert eval_archive.plot(docs, collection, name) is None
    # A collection name that cannot be a document's name is not kept at all.
    eval_archive.keep(docs, collection="../escape", report={"dataset": "tiny"}, written_to=out, since=0)
    assert not (tmp_path.parent / "escape.json").exists() and len(eval_archive.latest(docs)) == 1


def test_no_collection_takes_a_folder_of_the_state_beside_it(tmp_path):
    from ragate.retrieval.errors import StoreError
    from ragate.retrieval.qdrant import EdgeQdrant

    store = EdgeQdrant(tmp_path)
    for name in state.FOLDERS:
        with pytest.raises(StoreError, match="taken by ragate's own state"):
            store.open(name, create={"dim": 4})
    assert store.collections() == []


def test_one_name_written_by_many_threads_at_once_ends_whole(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    docs = FileDocs(tmp_path)
    texts = [json.dumps({"writer": i, "pad": "x" * 5000}) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: docs.write("drift/default/p.json", t), texts))
    assert docs.read("drift/default/p.json") in texts
    assert list(docs.documents("drift/default")) == ["drift/default/p.json"]  # no temporary file left or listed


def test_a_store_that_refuses_drift_never_fails_the_query(tmp_path, monkeypatch):
    monkeypatch.setattr(drift, "FLUSH_S", 0.0)
    (tmp_path / "drift").write_text("a file where the folder should be")
    monitor = DriftMonitor(FileDocs(tmp_path))
    monitor.record("default", p_answerable=0.5)  # logged, not raised
    assert monitor.report("default", None)["p_answerable"]["queries"] == 1


def test_a_bad_byte_or_a_rotation_in_the_feedback_file_keeps_its_counts_right(tmp_path, monkeypatch):
    verdict = {"text": "Tides follow the moon.", "chunk_id": "c1", "collection": "default", "note": None, "reranker": "r"}
    kept = FeedbackLog(FileDocs(tmp_path))
    kept.append(query="tides?", relevant=True, **verdict)
    with open(tmp_path / "feedback.jsonl", "ab") as f:
        f.write(b"\xff\xfe not UTF-8\n")  # a hand edit
    assert FeedbackLog(FileDocs(tmp_path)).counts() == {"entries": 1, "useful": 1, "unreadable_lines": 1}
    assert kept.append(query="moon?", relevant=False, **verdict) == 2  # still open for verdicts
    monkeypatch.setattr(state, "MAX_LOG_BYTES", 400)
    assert kept.append(query="again?", relevant=True, **verdict) == 1  # the older verdicts set aside
    assert kept.counts()["entries"] == 1 and (tmp_path / "feedback.jsonl.1").is_file()


def test_a_servers_feedback_log_is_rotated_past_its_bound_as_a_file_is(monkeypatch):
    monkeypatch.setattr(state, "MAX_LOG_LINES", 2)
    verdict = {"text": "Tides follow the moon.", "chunk_id": "c1", "collection": "default", "note": None, "reranker": "r"}
    docs = QdrantDocs(QdrantClient(location=":memory:"), "in-memory")
    kept = FeedbackLog(docs)
    assert [kept.append(query=q, relevant=True, **verdict) for q in ("a?", "b?", "c?", "d?", "e?")] == [1, 2, 1, 2, 1]
    # One generation of older lines is kept, as `feedback.jsonl.1` beside a file; the one before it goes.
    assert [json.loads(line)["query"] for line in docs.lines("feedback.jsonl.1")] == ["c?", "d?"]
    assert [r["query"] for r in kept.rows()] == ["e?"] and FeedbackLog(docs).counts()["entries"] == 1


def test_a_machines_feedback_file_moves_into_the_server_once(tmp_path):
    old = tmp_path / "feedback.jsonl"
    FeedbackLog(FileDocs(tmp_path)).append(
        query="tides?", text="Tides follow the moon.", relevant=True, chunk_id="c1", collection="default", note=None, reranker="r"
    )
    server = QdrantDocs(QdrantClient(location=":memory:"), "in-memory")
    for _ in range(2):  # a second replica, or a restart, copies nothing again
        FeedbackLog(server).adopt_file(old)
    assert FeedbackLog(server).counts()["entries"] == 1


def test_what_was_kept_for_a_dropped_collection_goes_with_it(shared, monkeypatch):
    monkeypatch.setattr(drift, "FLUSH_S", 0.0)
    docs = shared()
    monitor = DriftMonitor(docs)
    monitor.record("gone", p_answerable=0.9)
    DriftMonitor(docs).record("gone", p_answerable=0.8)
    eval_archive.keep(docs, collection="gone", report={"dataset": "tiny"}, written_to=None, since=0)
    monitor.forget("gone")
    eval_archive.forget(docs, "gone")
    assert docs.documents("drift/gone") == {} and eval_archive.latest(docs) == []
    assert monitor.report("gone", None)["p_answerable"]["queries"] == 0


def test_a_servers_feedback_log_is_read_again_only_when_it_grew(monkeypatch):
    monkeypatch.setattr(state, "RELOAD_S", 0.01)
    docs = QdrantDocs(QdrantClient(location=":memory:"), "in-memory")
    kept = FeedbackLog(docs)
    kept.append(query="tides?", text="Tides follow the moon.", relevant=True, chunk_id="c1", collection="default", note=None, reranker="r")
    reads = []
    monkeypatch.setattr(docs, "lines", lambda log: reads.append(log) or QdrantDocs.lines(docs, log))
    for _ in range(3):
        time.sleep(0.02)
        assert kept.counts()["entries"] == 1
    assert reads == []  # counted by the server, not scrolled
    docs.append("feedback.jsonl", json.dumps({"query": "moon?", "text": "t", "relevant": False}))  # another replica's verdict
    assert kept.counts()["entries"] == 2 and len(reads) == 1


def test_one_unreadable_document_hides_no_other_and_a_mangled_verdict_is_not_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(drift, "FLUSH_S", 0.0)
    docs = FileDocs(tmp_path)
    DriftMonitor(docs).record("default", p_answerable=0.7)
    (tmp_path / "drift" / "default" / "bad.json").write_bytes(b"\xff\xfe{")
    seen = DriftMonitor(docs).report("default", None)
    assert seen["processes"] == 2 and seen["p_answerable"]["queries"] == 1  # the readable window counted
    assert not (tmp_path / "drift" / "default" / "bad.json").exists()  # the unreadable one dropped
    with open(tmp_path / "feedback.jsonl", "wb") as f:  # a verdict whose query lost a byte to a hand edit
        f.write(b'{"query": "tid\xffes?", "text": "t", "relevant": true}\n')
    assert FeedbackLog(docs).counts() == {"entries": 0, "useful": 0, "unreadable_lines": 1}


def test_a_second_machines_feedback_file_and_a_copy_cut_short_are_merged_once(tmp_path):
    server = QdrantDocs(QdrantClient(location=":memory:"), "in-memory")
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    verdict = {"text": "t", "chunk_id": "c", "collection": "default", "note": None, "reranker": "r"}
    FeedbackLog(FileDocs(machine_a)).append(query="tides?", relevant=True, **verdict)
    FeedbackLog(FileDocs(machine_b)).append(query="moon?", relevant=False, **verdict)
    for path in (machine_a, machine_b, machine_a):
        FeedbackLog(server).adopt_file(path / "feedback.jsonl")
    assert sorted(r["query"] for r in FeedbackLog(server).rows()) == ["moon?", "tides?"]


def test_a_state_collection_made_before_its_fields_were_indexed_gets_them(monkeypatch):
    client = QdrantClient(location=":memory:")
    client.create_collection(state.STATE_COLLECTION, vectors_config={})  # as an earlier version left it
    indexed = []
    monkeypatch.setattr(client, "create_payload_index", lambda name, field, schema: indexed.append(field))
    QdrantDocs(client, "in-memory").read("calibration/default.self.json")
    assert sorted(indexed) == ["folder", "log"]
