"""Attacks a hostile client (or an agent steered by a prompt injection) can send, each over the real
transport: a `ragate serve` subprocess fed raw bytes on stdio, and over HTTP. Each must get a clear
error (or a bounded answer), and another request's `stats` must answer within 2 s meanwhile."""

import json
import os
import socket
import time

import anyio
import httpx2
import pytest

from tests.helpers import RAW_HEADERS, RAW_INITIALIZE, RawStdio, tool_text
from tests.launcher import free_port, http_server, http_session

pytestmark = pytest.mark.slow


FREEZING_GLOB = "**/" * 40 + "x"
# Tight request limits so the size cap is testable: max_request_mb must hold 10 × 100000 characters.
LIMITS = {"RAGATE_SERVER_MAX_DOCUMENTS": "10", "RAGATE_SERVER_MAX_REQUEST_MB": "1", "RAGATE_SERVER_HEADER_TIMEOUT_S": "1"}


@pytest.fixture(scope="module")
def root(tmp_path_factory, fanout_pdf, nested_html):
    """The one allowed root: a folder of files with secrets in it, beside the example corpus."""
    base = tmp_path_factory.mktemp("hostile")
    r = base / "root"
    (r / ".git").mkdir(parents=True)
    (r / "notes.md").write_text("# Notes\n\nQuasars are bright galactic nuclei.\n")
    (r / ".env").write_text("API_KEY=sk-live-123\n")
    (r / ".git" / "config").write_text("[credential]\ntoken = ghp_secret\n")
    (r / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    bad = r / "bad"
    bad.mkdir()
    (bad / "good.md").write_text("# Good\n\nPulsars are rotating neutron stars.\n")
    (bad / "fanout.pdf").write_bytes(fanout_pdf())
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF")
    (bad / "nested.html").write_bytes(nested_html(0.3))
    (bad / "loop.md").symlink_to(bad / "loop.md")
    return r


@pytest.fixture(scope="module")
def stdio(root, tmp_path_factory, server_env, examples):
    q = tmp_path_factory.mktemp("stdio-q")
    env = server_env(str(q / "q"), RAGATE_SERVER_ALLOWED_ROOTS=json.dumps([str(root), str(examples)]), **LIMITS)
    client = RawStdio(env, str(q / "stderr.log"))
    rep = client.request("tools/call", {"name": "index_paths", "arguments": {"paths": [str(examples / "science")]}})
    assert not rep["result"]["isError"], rep
    yield client, q / "q"
    client.close()


def stats_meanwhile(client: RawStdio, attack: int, attack_timeout: float = 300) -> dict:
    """Stats answers within 2 s while the attack is in flight; then the attack's own reply."""
    t = time.monotonic()
    stats = client.wait(client.start_tool("stats", {}), timeout=2)
    assert not stats["result"]["isError"] and time.monotonic() - t < 2
    return client.wait(attack, timeout=attack_timeout)


# -- stdio ---------------------------------------------------------------------------------------

BAD_LINES = [
    (b'{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"search","arguments":{"query":"a\\ud800b"}}}', -32700, "s1"),
    (b"[" * 250 + b"]" * 250, -32700, None),
    (b'{"jsonrpc":"2.0","id":"s3","method":"ping","params":' + b'{"a":' * 250 + b"1" + b"}" * 250 + b"}", -32700, "s3"),
    (b"this is not json {", -32700, None),
    (b'{"jsonrpc":"2.0","id":"s5","method":"ping"', -32700, None),
    (b"\xff\xfe{}", -32700, None),
    (b'{"jsonrpc":"2.0","id":"s7"}', -32600, "s7"),
    (b'{"id":"s8","method":"ping"}', -32600, "s8"),
    (b"[1, 2, 3]", -32600, None),
    (b'{"jsonrpc":"2.0","id":"s10","method":"ping","params":{"pad":"' + b"x" * 2_000_000 + b'"}}', -32600, None),
]


@pytest.mark.parametrize("line,code,rid", BAD_LINES, ids=[f"line{i}" for i in range(len(BAD_LINES))])
def test_stdio_answers_every_line(stdio, line, code, rid):
    client, _ = stdio
    client.send(line)
    stats = client.wait(client.start_tool("stats", {}), timeout=2)
    assert not stats["result"]["isError"]
    err = client.wait(rid, timeout=5) if rid is not None else client.wait_anonymous(timeout=5)
    assert err["error"]["code"] == code and err["error"]["message"], err
    assert len(json.dumps(err)) < 1000  # named, not echoed


def test_stdio_glob_filters_cannot_freeze(stdio):
    client, _ = stdio
    for tool, args in (
        ("search", {"query": "tides", "filters": {"source": FREEZING_GLOB}}),
        ("answer_or_abstain", {"query": "tides", "filters": {"source": FREEZING_GLOB}}),
        ("delete", {"filters": {"source": FREEZING_GLOB}}),
    ):
        is_error, text = tool_text(stats_meanwhile(client, client.start_tool(tool, args), attack_timeout=30))
        assert not is_error, text  # matches nothing, answered at once
    is_error, text = tool_text(
        client.request("tools/call", {"name": "search", "arguments": {"query": "x", "filters": {"source": "*x" * 70}}})
    )
    assert is_error and "wildcards" in text


def test_stdio_index_paths_reads_no_secrets(stdio, root):
    client, _ = stdio
    rep = stats_meanwhile(
        client, client.start_tool("index_paths", {"paths": [str(root / ".env"), str(root / ".git" / "config"), str(root / "id_rsa")]})
    )
    is_error, text = tool_text(rep)
    report = json.loads(text)
    assert not is_error and report["documents_indexed"] == 0 and len(report["skipped"]) == 3
    assert all("denylist" in s["reason"] for s in report["skipped"]), report["skipped"]
    folder = json.loads(
        tool_text(client.request("tools/call", {"name": "index_paths", "arguments": {"paths": [str(root)], "collection": "root"}}))[1]
    )
    assert folder["documents_indexed"] >= 1
    found = client.request(
        "tools/call", {"name": "search", "arguments": {"query": "API_KEY token private key", "collection": "root", "rerank": False}}
    )
    assert "sk-live" not in json.dumps(found) and "ghp_secret" not in json.dumps(found)
    for path, needle in (("/etc/passwd", "allowed roots"), ("/proc/self/environ", "allowed roots"), ("/x" * 250_000, "500000 characters")):
        is_error, text = tool_text(client.request("tools/call", {"name": "index_paths", "arguments": {"paths": [path]}}))
        assert is_error and needle in text and len(text) < 2000, text[:300]


def test_stdio_bad_files_are_skipped_and_the_rest_indexed(stdio, root):
    client, _ = stdio
    t = time.monotonic()
    rep = stats_meanwhile(client, client.start_tool("index_paths", {"paths": [str(root / "bad")], "collection": "bad"}))
    is_error, text = tool_text(rep)
    assert not is_error, text
    report = json.loads(text)
    reasons = {os.path.basename(s["path"]): s["reason"] for s in report["skipped"]}
    assert report["documents_indexed"] == 2, report  # good.md and nested.html
    assert (
        "max_chunks_per_file" in reasons["fanout.pdf"] and "corrupt PDF" in reasons["broken.pdf"] and "loop" in reasons["loop.md"].lower()
    )
    assert report["chunks_written"] < 1000 and time.monotonic() - t < 120


def test_stdio_minor_inputs(stdio):
    client, _ = stdio
    for args, needle in (({"query": "\u200b\u200b\u200b"}, "visible"), ({"query": "tides", "top_k": True}, "top_k")):
        is_error, text = tool_text(client.request("tools/call", {"name": "search", "arguments": args}))
        assert is_error and needle in text, text


BIG = "x" * 300_000
# Names and tokens the SDK would echo whole (or once per progress notification): each is refused
# with an error of its own, a few hundred bytes whatever came in.
ECHOES = [
    ("method", None, None, -32601),
    ("tools/call", {"name": BIG, "arguments": {}}, None, -32602),
    ("resources/read", {"uri": "ragate://doc/" + BIG}, None, -32602),
    ("prompts/get", {"name": BIG}, None, -32602),
    ("tools/call", {"name": "stats", "arguments": {}, "_meta": {"progressToken": BIG}}, None, -32602),
    ("tools/call", {"name": "stats", "arguments": {}, "_meta": {"progressToken": True}}, None, -32602),
    ("tools/call", {"name": "stats", "arguments": {}, "_meta": {"progressToken": 10**4000}}, None, -32602),
]


@pytest.mark.parametrize(
    "method,params,extra,code", ECHOES, ids=["method", "tool", "uri", "prompt", "token", "token-true", "token-huge-int"]
)
def test_stdio_names_and_tokens_are_bounded_not_echoed(stdio, method, params, extra, code):
    client, _ = stdio
    if method == "method":
        method, params = BIG, {}
    reply = client.request(method, params, timeout=10)
    assert reply["error"]["code"] == code and len(json.dumps(reply)) < 1000, str(reply)[:300]
    assert not client.anonymous or all(len(json.dumps(m)) < 1000 for m in client.anonymous)


def test_stdio_unknown_names_within_bounds_are_answered_briefly(stdio):
    client, _ = stdio
    for method, params in (
        ("tools/call", {"name": "x" * 128, "arguments": {}}),
        ("resources/read", {"uri": "ragate://doc/" + "x" * 2000}),
        ("tools/call", {"name": "search", "arguments": {"query": "tides", "filters": {BIG: 1}}}),
        ("tools/call", {"name": "search", "arguments": {"query": "tides", BIG: 1}}),
    ):
        reply = client.request(method, params, timeout=30)
        assert "error" in reply or reply["result"]["isError"], str(reply)[:300]
        assert len(json.dumps(reply)) < 5000, (method, len(json.dumps(reply)))
    token = client.request("tools/call", {"name": "stats", "arguments": {}, "_meta": {"progressToken": "t" * 256}}, timeout=10)
    assert not token["result"]["isError"]


def test_drop_collection_under_a_live_server_goes_through_its_service(stdio, ragate, server_env, examples):
    """The CLI's drop is done by the index service the live server uses, so the server never serves
    files deleted beneath it: it answers that the collection is gone, without tracebacks."""
    client, q = stdio
    rep = client.request(
        "tools/call", {"name": "index_paths", "arguments": {"paths": [str(examples / "science")], "collection": "scratch"}}
    )
    assert not rep["result"]["isError"], rep
    r = ragate("delete", "--drop-collection", "-c", "scratch", env_extra=server_env(str(q)))
    assert r.returncode == 0 and "scratch" in r.stdout and "Traceback" not in r.stderr, r.stderr[-2000:]
    is_error, text = tool_text(client.request("tools/call", {"name": "search", "arguments": {"query": "tides", "collection": "scratch"}}))
    assert is_error and "unknown collection" in text, text
    stats = json.loads(tool_text(client.request("tools/call", {"name": "stats", "arguments": {}}, timeout=2))[1])
    assert "scratch" not in stats["collections"] and stats["collections"]["default"]["chunks"] > 0


# -- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(root, tmp_path_factory, server_env, examples):
    q = tmp_path_factory.mktemp("http-q")
    port, token = free_port(), "hostile-test-token"
    env = server_env(str(q / "q"), RAGATE_SERVER_ALLOWED_ROOTS=json.dumps([str(root), str(examples)]), **LIMITS)
    with http_server(env, port, token):

        async def index():
            async with http_session(port, token) as s:
                assert not (await s.call_tool("index_paths", {"paths": [str(examples / "science")]})).is_error

        anyio.run(index)
        yield port, token


def run_with_stats(port, token, attack):
    """Run attack(session) while a second client's stats must answer within 2 s; attack's result."""
    out = {}

    async def main():
        async with http_session(port, token) as a, http_session(port, token) as b:
            async with anyio.create_task_group() as tg:

                async def attacking():
                    out["attack"] = await attack(a)

                tg.start_soon(attacking)
                await anyio.sleep(0.05)
                with anyio.fail_after(2):
                    assert not (await b.call_tool("stats", {})).is_error

    anyio.run(main)
    return out["attack"]


def test_http_glob_filters_cannot_freeze(http):
    port, token = http
    r = run_with_stats(port, token, lambda s: s.call_tool("search", {"query": "tides", "filters": {"source": FREEZING_GLOB}}))
    assert not r.is_error and r.structured_content["results"] == []
    r = run_with_stats(port, token, lambda s: s.call_tool("search", {"query": "tides", "filters": {"source": "*x" * 70}}))
    assert r.is_error and "wildcards" in r.content[0].text


def test_http_index_paths_reads_no_secrets(http, root):
    port, token = http
    r = run_with_stats(port, token, lambda s: s.call_tool("index_paths", {"paths": [str(root / ".env")]}))
    assert not r.is_error and "denylist" in r.structured_content["skipped"][0]["reason"]
    r = run_with_stats(port, token, lambda s: s.call_tool("index_paths", {"paths": ["/x" * 250_000]}))
    assert r.is_error and "500000 characters" in r.content[0].text and len(r.content[0].text) < 2000


def test_http_bearer_scheme_is_case_insensitive(http):
    port, token = http
    init, headers = RAW_INITIALIZE, RAW_HEADERS
    with httpx2.Client(timeout=10) as c:
        for scheme in ("bearer", "BEARER", "Bearer"):
            r = c.post(f"http://127.0.0.1:{port}/mcp", json=init, headers={**headers, "Authorization": f"{scheme} {token}"})
            assert r.status_code == 200, (scheme, r.status_code)
        assert c.post(f"http://127.0.0.1:{port}/mcp", json=init, headers={**headers, "Authorization": f"Basic {token}"}).status_code == 401
        big = c.post(
            f"http://127.0.0.1:{port}/mcp", content=b"x" * (2 * 1024 * 1024), headers={**headers, "Authorization": f"Bearer {token}"}
        )
        assert big.status_code == 413


def test_http_names_and_tokens_are_bounded_not_echoed(http):
    port, token = http
    headers = {**RAW_HEADERS, "Authorization": f"Bearer {token}"}
    with httpx2.Client(timeout=10) as c:
        init = c.post(f"http://127.0.0.1:{port}/mcp", json=RAW_INITIALIZE, headers=headers)
        session = {"mcp-session-id": init.headers.get("mcp-session-id", "")}
        for method, params, _, code in ECHOES:
            message = {"jsonrpc": "2.0", "id": 7, "method": BIG if method == "method" else method, "params": params or {}}
            r = c.post(f"http://127.0.0.1:{port}/mcp", json=message, headers={**headers, **session})
            assert r.status_code == 400 and r.json()["error"]["code"] == code and len(r.content) < 1000, r.text[:300]
        batch = [
            {"jsonrpc": "2.0", "id": 8, "method": "ping"},
            {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": BIG}},
        ]
        r = c.post(f"http://127.0.0.1:{port}/mcp", json=batch, headers={**headers, **session})
        assert r.status_code == 400 and len(r.content) < 1000, r.text[:300]
        odd = c.post(f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 10, "method": ["x"]}, headers={**headers, **session})
        assert 400 <= odd.status_code < 500, odd.status_code  # a method that is no string is the caller's error, not a crash


def test_http_slowloris_sockets_are_closed(http):
    port, token = http
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    try:

        async def keep_dribbling(_session):
            for _ in range(6):  # a header line now and then, slower than the 1 s header deadline allows in total
                for s in socks:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
                await anyio.sleep(0.5)
            return None

        run_with_stats(port, token, keep_dribbling)
        for s in socks:
            s.settimeout(5)
            try:
                assert s.recv(1024) == b""  # closed by the server
            except ConnectionResetError:
                pass
    finally:
        for s in socks:
            s.close()
