"""Incremental indexing and search with the real models and the embedded store."""

import os
import shutil
from pathlib import Path

import pytest

from ragate.retrieval.errors import IngestError, StoreError
from ragate.retrieval.filters import SearchFilter
from ragate.server.requests import AnswerRequest, IndexRequest, SearchRequest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "corpus"


@pytest.fixture
def corpus(tmp_path, minimal_pdf):
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "tides.md").write_text("# Tides\n\nThe tides are caused by the gravitational pull of the moon on the oceans.\n")
    (d / "plants.txt").write_text("Photosynthesis converts light energy into chemical energy stored in sugar.")
    (d / "sub" / "mito.pdf").write_bytes(minimal_pdf("Mitochondria produce most of the cell ATP"))
    (d / "sub" / "skip.bin").write_bytes(b"\x00\x01")
    return d


def test_incremental_reindex_changed_and_pruned(pipeline, corpus):
    r1 = pipeline.index(IndexRequest(paths=[str(corpus)], prune=True))
    assert (r1.files_seen, r1.documents_indexed, r1.documents_unchanged) == (4, 3, 0)
    assert r1.chunks_written == 3 and r1.skipped_by_kind == {"not_included": 1}  # skip.bin, said
    # Where the time went, stage by stage, within the indexing's own time.
    assert list(r1.stage_seconds) == ["read", "extract", "chunk", "embed", "bm25", "write", "optimize"]
    assert all(v > 0 for v in r1.stage_seconds.values()) and sum(r1.stage_seconds.values()) <= r1.seconds

    r2 = pipeline.index(IndexRequest(paths=[str(corpus)], prune=True))
    assert (r2.documents_indexed, r2.documents_unchanged, r2.chunks_written) == (0, 3, 0)  # nothing re-embedded

    (corpus / "tides.md").write_text("# Tides\n\nSpring tides occur at new and full moon, when the sun and moon align.\n")
    (corpus / "plants.txt").unlink()
    r3 = pipeline.index(IndexRequest(paths=[str(corpus)], prune=True))
    assert (r3.documents_indexed, r3.documents_unchanged, r3.documents_removed) == (1, 1, 1)
    store = pipeline.catalog.store()
    assert store.count() == 2
    texts = [h.chunk.text for h in store.search_dense(pipeline.models.embedder.encode(["tides"])[0], None, 10)]
    assert any("Spring tides" in t for t in texts) and not any("gravitational" in t for t in texts)


def test_corrupt_and_unreadable_files_are_skipped_others_indexed(pipeline, tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "good.md").write_text("# Good\n\nInsulin lowers blood sugar.")
    (d / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (d / "binary.txt").write_bytes(b"\x00\x00\x00data")
    locked = d / "locked.md"
    locked.write_text("secret")
    locked.chmod(0)
    try:
        r = pipeline.index(IndexRequest(paths=[str(d)]))
    finally:
        locked.chmod(0o600)
    reasons = {os.path.basename(s.path): s.reason for s in r.skipped}
    assert "corrupt PDF" in reasons["broken.pdf"] and "binary" in reasons["binary.txt"]
    if os.geteuid() == 0:  # root reads anything, so the locked file is indexed too
        assert r.documents_indexed == 2
    else:
        assert r.documents_indexed == 1 and "cannot read" in reasons["locked.md"]


def test_every_file_seen_is_indexed_or_counted_by_reason(pipeline, tmp_path):
    d = tmp_path / "mixed"
    for sub in ("docs", ".git", "node_modules/pkg"):
        (d / sub).mkdir(parents=True)
    (d / "docs" / "guide.md").write_text("# Guide\n\nRotate the keys every ninety days.")
    (d / "docs" / "tool.py").write_text("print('not in the include globs')")
    (d / "docs" / "Makefile").write_text("all:\n\techo")
    (d / "docs" / "blank.md").write_text("   \n")
    (d / ".env.txt").write_text("KEY=1")
    (d / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (d / "node_modules" / "pkg" / "README.md").write_text("a dependency")
    (d / "docs" / "again.md").symlink_to(d / "docs" / "guide.md")
    (d / "elsewhere").symlink_to(d / "docs", target_is_directory=True)

    r = pipeline.index(IndexRequest(paths=[str(d)]))
    kinds = {"not_included": 2, "excluded_folder": 2, "linked_folder": 1, "secret": 1, "duplicate": 1, "no_text": 1}
    assert r.skipped_by_kind == kinds
    files_skipped = sum(n for k, n in r.skipped_by_kind.items() if k not in ("excluded_folder", "linked_folder"))
    assert r.files_seen == r.documents_indexed + r.documents_unchanged + files_skipped == 6
    reasons = {os.path.basename(s.path.rstrip("/")): s.reason for s in r.skipped}
    assert "(.py)" in reasons["tool.py"] and "(no extension)" in reasons["Makefile"] and "**/node_modules/**" in reasons["node_modules"]
    assert pipeline.stats()["collections"]["default"]["last_index"]["skipped_by_kind"] == r.skipped_by_kind

    # An MCP response lists at most so many entries, those a user did not choose first, and counts all.
    short = r.listed(2)
    assert [s.kind for s in short.skipped] == ["linked_folder", "secret"] and short.skipped_not_listed == 6
    assert short.skipped_by_kind == r.skipped_by_kind


def test_collections_calibrated_differently_are_scored_and_gated_by_the_shipped_default(pipeline):
    from ragate.scoring.calibration import CalibrationParams

    pipeline.index(IndexRequest(paths=[str(EXAMPLES / "science")], collection="sci"))
    pipeline.index(IndexRequest(paths=[str(EXAMPLES / "ragate")], collection="docs"))
    fitted = pipeline.catalog.profile("sci").model_copy(
        update={
            "source": "self",
            "fitted_on": "sci",
            "relevance": CalibrationParams(method="platt", a=0.5, b=-1.0, pairs=50),
            **pipeline.catalog.fitted_for(),
        }
    )
    pipeline.catalog.profiles.save("sci", fitted)
    assert pipeline.catalog.profile("sci").source == "self" and pipeline.catalog.profile("docs").source == "default"
    one = pipeline.answer(AnswerRequest(query="What causes the tides?", collection="sci"))
    assert one.calibration == "self"
    both = pipeline.answer(AnswerRequest(query="What causes the tides?", collections=["sci", "docs"]))
    assert both.calibration == "default" and both.status == "answer" and any("calibrated differently" in n for n in both.notes)
    assert both.passages[0].collection == "sci"
    with pytest.raises(StoreError, match="unknown collection"):  # refused before anything is kept for it
        pipeline.answer(AnswerRequest(query="tides", collections=["sci", "nope"]))


def test_missing_path_and_empty_folder(pipeline, tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        pipeline.index(IndexRequest(paths=[str(tmp_path / "nope")]))
    (tmp_path / "empty").mkdir()
    r = pipeline.index(IndexRequest(paths=[str(tmp_path / "empty")]))
    assert r.files_seen == 0 and r.documents_indexed == 0


def test_search_examples_reranked_with_components_and_timings(pipeline):
    pipeline.index(IndexRequest(paths=[str(EXAMPLES)]))
    resp = pipeline.search(SearchRequest(query="Which experiment showed DNA replication is semi-conservative?", top_k=3))
    assert resp.reranked and resp.results[0].source.endswith("dna_replication.rst")
    top = resp.results[0]
    assert top.scores.rerank is not None and 0 <= top.scores.relevance <= 1
    assert [r.rank for r in resp.results] == [1, 2, 3]
    assert resp.results[0].score >= resp.results[1].score >= resp.results[2].score
    for stage in ("embed", "dense", "bm25", "fuse", "rerank", "blend", "total"):
        assert stage in resp.timings_ms


def test_filters_restrict_search(make_settings, models, tmp_path):
    from ragate.server.pipeline import Pipeline

    # The ragate docs label themselves in front matter, which only a rule can allow.
    settings = make_settings(tmp_path, authority={"rules": [{"glob": "**/corpus/ragate/**", "front_matter": True}]})
    pipeline = Pipeline(settings, models)
    pipeline.index(IndexRequest(paths=[str(EXAMPLES)]))
    only_docs = pipeline.search(SearchRequest(query="tides moon", filters=SearchFilter(source_type=["docs"])))
    assert only_docs.results and all(r.source_type == "docs" for r in only_docs.results)
    by_glob = pipeline.search(SearchRequest(query="tides moon", filters=SearchFilter(source="**/science/*.html")))
    assert {r.source.rsplit("/", 1)[1] for r in by_glob.results} == {"black_holes.html"}
    recent = pipeline.search(SearchRequest(query="coral heat", filters=SearchFilter(updated_after="2025-01-01")))
    assert recent.results and all(r.updated_at >= "2025-01-01" for r in recent.results)
    pipeline.close()


def test_restart_keeps_the_index(settings, models, tmp_path):
    from ragate.server.pipeline import Pipeline

    src = tmp_path / "src"
    shutil.copytree(EXAMPLES / "science", src)
    p = Pipeline(settings, models)
    n = p.index(IndexRequest(paths=[str(src)])).chunks_written
    p.close()
    p2 = Pipeline(settings, models)
    assert p2.catalog.store().count() == n
    assert p2.index(IndexRequest(paths=[str(src)])).chunks_written == 0
    assert p2.search(SearchRequest(query="What is Hawking radiation?", top_k=1)).results[0].source.endswith("black_holes.html")
    p2.close()
