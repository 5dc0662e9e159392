"""kill -9 of the index service while `ragate index` feeds it a large folder: the client reports
it, every file has all of its chunks or none, and the next call starts a new service that
finishes the job without duplicates."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ragate.retrieval.chunking import chunk_document
from ragate.retrieval.errors import StoreError
from ragate.retrieval.ingest import load_document, read_source
from ragate.server.ops import STATS
from ragate.server.pipeline import Pipeline
from ragate.server.service.client import ServiceClient

WORDS = (
    "retrieval ranking passage query index vector sparse dense fusion rerank calibration threshold "
    "corpus document chunk token model score freshness authority diversity agent answer evidence "
    "abstain relevance precision recall benchmark latency throughput batch cache"
).split()
FILES = 240


def write_corpus(root):
    rng = random.Random(7)
    root.mkdir()
    for i in range(FILES):
        paras = ["\n".join(" ".join(rng.choice(WORDS) for _ in range(14)) + "." for _ in range(6)) for _ in range(4)]
        (root / f"note-{i:03d}.md").write_text(f"# Note {i}\n\n" + "\n\n".join(paras) + "\n")


def expected_chunks(pipeline, path):
    ingest = pipeline.catalog.ingest_options
    doc = load_document(path, read_source(path, ingest), ingest)
    return len(chunk_document(doc, pipeline.models.token_offsets, pipeline.models.chunking()))


def index_cmd(corpus, qpath):
    env = {**os.environ, "RAGATE_QDRANT_PATH": str(qpath), "RAGATE_INDEX_BATCH_CHUNKS": "16"}
    return [sys.executable, "-m", "ragate.server.cli.main", "index", str(corpus), "--json"], env


def open_when_free(settings, models, timeout=60):
    """A pipeline holding the store, once the service that held it has gone."""
    deadline = time.time() + timeout
    while True:
        p = Pipeline(settings, models)
        try:
            p.catalog.store()
            return p
        except StoreError:
            p.close()
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def check_complete_files(p, corpus, manifest):
    for source, entry in manifest.items():
        assert len(entry["file_hashes"]) == 1, source
        assert entry["chunks"] == expected_chunks(p, corpus / os.path.basename(source)), source  # all of a file's chunks, once


@pytest.mark.slow
def test_kill_9_of_the_service_during_index_loses_nothing_and_the_next_call_restarts_it(tmp_path, models, make_settings, monkeypatch):
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    qpath = tmp_path / "q"
    settings = make_settings(tmp_path)
    settings.qdrant.path = str(qpath)
    cmd, env = index_cmd(corpus, qpath)
    # Where no config.toml is found, so every service started here (by the CLI, or again by the client
    # below) runs with the client's settings: defaults and RAGATE_*.
    monkeypatch.chdir(tmp_path)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = ServiceClient(settings)
    deadline = time.time() + 300
    documents = 0
    while documents < FILES // 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
        try:
            stats = client.run(STATS)
        except StoreError:
            continue  # the service is still starting
        documents = stats["collections"].get("default", {}).get("documents", 0)
    assert proc.poll() is None, "indexing finished before it could be interrupted"
    os.kill(stats["service"]["pid"], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "index service stopped during index" in err, err[-2000:]

    p = open_when_free(settings, models)  # the dead service's locks are gone with it
    try:
        manifest = p.catalog.store().manifest()
        assert 0 < len(manifest) < FILES
        check_complete_files(p, corpus, manifest)
    finally:
        p.close()

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)  # starts a new service
    assert rerun.returncode == 0, rerun.stderr
    assert client.run(STATS)["collections"]["default"]["documents"] == FILES
    client.stop_service()
    p = open_when_free(settings, models)
    try:
        manifest = p.catalog.store().manifest()
        assert len(manifest) == FILES
        check_complete_files(p, corpus, manifest)
        assert p.catalog.store().count() == sum(e["chunks"] for e in manifest.values())  # no duplicates
    finally:
        p.close()
