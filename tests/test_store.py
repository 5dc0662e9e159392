"""The same store suite against both backends: Qdrant Edge on disk, and qdrant-client (its local
mode here; a real server when RAGATE_TEST_QDRANT_URL is set)."""

import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.documents import Chunk, stable_id
from ragate.retrieval.errors import StoreError, UnknownCollection
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.qdrant import EdgeQdrant, ServerQdrant

BACKENDS = ["edge", "client-local"] + (["client-server"] if os.environ.get("RAGATE_TEST_QDRANT_URL") else [])
META = {"dim": 4, "embedder": "test"}


def make_backend(kind, tmp_path):
    from qdrant_client import QdrantClient

    if kind == "edge":
        return EdgeQdrant(tmp_path / "q")
    if kind == "client-local":
        return ServerQdrant(QdrantClient(location=":memory:"), ":memory:")
    return ServerQdrant(QdrantClient(url=os.environ["RAGATE_TEST_QDRANT_URL"]), os.environ["RAGATE_TEST_QDRANT_URL"])


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    b = make_backend(request.param, tmp_path)
    b.kind_param = request.param
    yield b
    if request.param == "client-server":
        for name in b.collections():
            if name.startswith("t_"):
                b.drop(name)
    b.close()


TEXTS = {
    "a.md": ("2023-01-01T00:00:00Z", "docs", "the moon pulls the ocean and makes tides"),
    "b.md": ("2024-06-01T00:00:00Z", "blog", "plants convert light into sugar by photosynthesis"),
    "sub/c.txt": ("2025-01-01T00:00:00Z", "docs", "tides are higher at new moon and full moon"),
}


def chunks_for(texts=TEXTS, version="1"):
    out = []
    for i, (src, (date, stype, text)) in enumerate(texts.items()):
        out.append(
            Chunk(
                chunk_id=stable_id(src, version),
                doc_id=stable_id("doc", src),
                chunk_index=0,
                text=text,
                source=f"/data/{src}",
                title=src,
                heading_path=[],
                char_start=0,
                char_end=len(text),
                updated_at=date,
                source_type=stype,
                content_hash="x",
                file_hash=version,
                meta={"lang": "en", "n": i},
            )
        )
    return out


def vectors(n):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 4)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(backend, name="t_" + uuid.uuid4().hex[:8]):
    store = backend.open(name, create=META)
    bm = Bm25Encoder()
    cs = chunks_for()
    dense = vectors(len(cs))
    store.upsert(cs, dense, bm.encode_documents([c.text for c in cs]))
    store.flush()
    return store, cs, dense, bm


def test_dense_and_sparse_search(backend):
    store, cs, dense, bm = fill(backend)
    hits = store.search_dense(dense[1], None, 10)
    assert hits[0].chunk.chunk_id == cs[1].chunk_id and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].vector is not None and hits[0].vector.shape == (4,)
    sparse = store.search_sparse(bm.encode_query("moon tides"), None, 10)
    assert {h.chunk.source for h in sparse} == {"/data/a.md", "/data/sub/c.txt"}
    assert store.count() == 3
    assert store.sources() == ["/data/a.md", "/data/b.md", "/data/sub/c.txt"]


@pytest.mark.parametrize(
    "flt, expected",
    [
        (SearchFilter(source="**/sub/*.txt"), {"/data/sub/c.txt"}),
        (SearchFilter(source="*.md"), {"/data/a.md", "/data/b.md"}),
        (SearchFilter(source_prefix="/data/sub/"), {"/data/sub/c.txt"}),
        (SearchFilter(source_type=["docs"]), {"/data/a.md", "/data/sub/c.txt"}),
        (SearchFilter(updated_after="2024-01-01"), {"/data/b.md", "/data/sub/c.txt"}),
        (SearchFilter(updated_after="2024-01-01", updated_before="2024-12-31"), {"/data/b.md"}),
        (SearchFilter(meta={"n": 2}), {"/data/sub/c.txt"}),
        (SearchFilter(source_type="docs", meta={"lang": "en"}, updated_before="2023-06-01"), {"/data/a.md"}),
        (SearchFilter(source="nothing/**"), set()),
    ],
)
def test_filters_apply_inside_qdrant(backend, flt, expected):
    store, cs, dense, bm = fill(backend)
    got = {h.chunk.source for h in store.search_dense(dense[0], flt, 10)}
    assert got == expected
    # the sparse channel sees the same filter
    sparse = {h.chunk.source for h in store.search_sparse(bm.encode_query("moon tides light sugar"), flt, 10)}
    assert sparse <= expected


def test_manifest_stale_versions_and_deletes(backend):
    store, cs, dense, bm = fill(backend)
    m = store.manifest()
    assert m["/data/a.md"]["file_hashes"] == {"1"} and m["/data/a.md"]["chunks"] == 1
    v2 = chunks_for(version="2")[:1]
    store.upsert(v2, dense[:1], bm.encode_documents([v2[0].text]))
    assert store.manifest()["/data/a.md"]["file_hashes"] == {"1", "2"}
    store.delete_stale(v2[0].doc_id, "2")
    assert store.manifest()["/data/a.md"]["file_hashes"] == {"2"}
    assert store.delete_where(SearchFilter(source_type=["blog"])) == 1
    with pytest.raises(StoreError, match="empty filter"):
        store.delete_where(SearchFilter())
    store.delete_ids([v2[0].chunk_id])
    assert store.count() == 1


def test_unknown_collection_names_known_ones(backend):
    fill(backend, "t_known")
    with pytest.raises(UnknownCollection, match="t_known"):
        backend.open("t_missing")
    with pytest.raises(StoreError, match="invalid collection name"):
        backend.open("../escape")


def test_edge_index_survives_reopen(tmp_path):
    b = EdgeQdrant(tmp_path / "q")
    store, cs, dense, bm = fill(b, "t_keep")
    b.close()
    b2 = EdgeQdrant(tmp_path / "q")
    store2 = b2.open("t_keep")
    assert store2.count() == 3 and store2.meta() == META
    assert store2.search_dense(dense[2], None, 1)[0].chunk.chunk_id == cs[2].chunk_id
    b2.close()


def test_edge_optimize_builds_the_search_index(tmp_path):
    # Qdrant Edge has no background optimizer: until `optimize`, every segment is scanned exactly.
    # 8,000 points of 384 dimensions (12 MB of vectors) pass its indexing threshold (10 MB), so an
    # HNSW graph is built; each query's own point still comes first, before and after, and reopened.
    rng = np.random.default_rng(1)
    n, dim = 8_000, 384
    dense = rng.normal(size=(n, dim)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    base = chunks_for()[0]
    cs = [base.model_copy(update={"chunk_id": stable_id("p", str(i)), "doc_id": stable_id("d", str(i))}) for i in range(n)]
    b = EdgeQdrant(tmp_path / "q")
    store = b.open("t_big", create={"dim": dim, "embedder": "test"})
    sparse = Bm25Encoder().encode_documents([base.text])
    for i in range(0, n, 2000):
        store.upsert(cs[i : i + 2000], dense[i : i + 2000], sparse * len(cs[i : i + 2000]))
    store.flush()
    queries = dense[:20] + rng.normal(scale=0.02, size=(20, dim)).astype(np.float32)
    own = [c.chunk_id for c in cs[:20]]
    assert [store.search_dense(q, None, 10)[0].chunk.chunk_id for q in queries] == own
    assert not list(store.dir.rglob("graph.bin"))
    store.optimize()
    assert list(store.dir.rglob("graph.bin"))  # the HNSW graph
    assert [store.search_dense(q, None, 10)[0].chunk.chunk_id for q in queries] == own
    b.close()
    again = EdgeQdrant(tmp_path / "q")
    assert again.open("t_big").search_dense(queries[0], None, 1)[0].chunk.chunk_id == own[0]
    again.close()


def test_edge_second_process_gets_lock_error_naming_pid(tmp_path):
    b = EdgeQdrant(tmp_path / "q")
    fill(b, "t_locked")
    code = (
        "import sys\nfrom ragate.retrieval.qdrant import EdgeQdrant\n"
        f"try:\n    EdgeQdrant({str(tmp_path / 'q')!r}).open('t_locked')\n"
        "except Exception as e:\n    print(e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert f"locked by PID {os.getpid()}" in r.stdout
    assert b.open("t_locked").count() == 3  # the holder is unaffected
    b.close()


def test_edge_drop_takes_the_lock(tmp_path):
    b = EdgeQdrant(tmp_path / "q")
    fill(b, "t_held")
    code = (
        "import sys\nfrom ragate.retrieval.qdrant import EdgeQdrant\n"
        f"try:\n    EdgeQdrant({str(tmp_path / 'q')!r}).drop('t_held')\n"
        "except Exception as e:\n    print(e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and f"locked by PID {os.getpid()}" in r.stdout, (r.stdout, r.stderr)
    assert b.open("t_held").count() == 3  # nothing deleted under the holder
    b.close()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "t_held" not in EdgeQdrant(tmp_path / "q").collections()


def test_the_multilingual_tokenizer_gives_bm25_chinese_and_japanese(backend):
    """The word tokenizer reads a CJK sentence as one token, so BM25 matches nothing in it; the
    multilingual one segments it."""
    texts = {
        "zh.md": ("2024-01-01", "markdown", "八达岭长城的门票价格是四十元，旺季开放时间更长。"),
        "ja.md": ("2024-01-01", "markdown", "万里の長城の入場料は四十元で、繁忙期は開館時間が長くなります。"),
        "en.md": ("2024-01-01", "markdown", "The tides are caused by the moon."),
    }
    cs = chunks_for(texts)
    for tokenizer, found in (("word", set()), ("multilingual", {"/data/zh.md"})):
        bm = Bm25Encoder(tokenizer=tokenizer, subwords=False)  # the tokenizers alone: pieces would match either way
        store = backend.open(f"t_{tokenizer}_{uuid.uuid4().hex[:6]}", create=META)
        store.upsert(cs, vectors(len(cs)), bm.encode_documents([c.text for c in cs]))
        store.flush()
        hits = store.search_sparse(bm.encode_query("八达岭长城的门票多少钱？"), None, 10)
        assert {h.chunk.source for h in hits} >= found and ("/data/zh.md" in {h.chunk.source for h in hits}) == bool(found), tokenizer
        if found:
            assert store.search_sparse(bm.encode_query("入場料"), None, 10)[0].chunk.source == "/data/ja.md"
