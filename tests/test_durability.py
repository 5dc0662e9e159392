"""kill -9 during `ragate index` of a large folder: on restart every file has all of its chunks or
none, no duplicates, and a re-run finishes the job with the same index a clean run builds."""

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from ragate.retrieval.chunking import chunk_document
from ragate.retrieval.ingest import load_document, read_source
from ragate.server.pipeline import Pipeline

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
    ingest = pipeline.ingest_options
    doc = load_document(path, read_source(path, ingest), ingest)
    return len(chunk_document(doc, pipeline.models.token_offsets, pipeline.models.chunking()))


def index_cmd(corpus, qpath):
    env = {
        **os.environ,
        "RAGATE_QDRANT_PATH": str(qpath),
        "RAGATE_INDEX_BATCH_CHUNKS": "16",
    }
    return [sys.executable, "-m", "ragate.server.cli", "index", str(corpus)], env


@pytest.mark.slow
def test_kill_9_during_index_loses_nothing_and_rerun_finishes(tmp_path, models, make_settings):
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    qpath = tmp_path / "q"
    cmd, env = index_cmd(corpus, qpath)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = {"n": 0}

    def watch():  # tqdm writes "indexing:  23%|...| 56/240"
        buf = ""
        while ch := proc.stderr.read(1):
            buf = (buf + ch)[-200:]
            m = re.findall(r"(\d+)/%d" % FILES, buf)
            if m:
                done["n"] = int(m[-1])

    threading.Thread(target=watch, daemon=True).start()
    deadline = time.time() + 240
    while done["n"] < FILES // 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    settings = make_settings(tmp_path)
    settings.qdrant.path = str(qpath)
    p = Pipeline(settings, models)  # the dead process's lock is gone with it
    try:
        manifest = p.store().manifest()
        assert 0 < len(manifest) < FILES
        for source, entry in manifest.items():
            path = corpus / os.path.basename(source)
            assert len(entry["file_hashes"]) == 1
            assert entry["chunks"] == expected_chunks(p, path), source  # all of a file's chunks, once
    finally:
        p.close()

    rerun = subprocess.run(cmd + ["--no-progress", "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    p = Pipeline(settings, models)
    try:
        manifest = p.store().manifest()
        assert len(manifest) == FILES
        total = sum(expected_chunks(p, corpus / os.path.basename(s)) for s in manifest)
        assert p.store().count() == total == sum(e["chunks"] for e in manifest.values())
        assert all(len(e["file_hashes"]) == 1 for e in manifest.values())
    finally:
        p.close()
