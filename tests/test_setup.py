"""`ragate init` and `ragate doctor` as a new user runs them: the printed client entry launches the
real server through the MCP SDK's own stdio client, and doctor passes a good setup and names what
is wrong with a broken one."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from ragate.server.ops import TOOLS
from ragate.server.service.client import ServiceClient
from ragate.server.settings_loader import load_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(tmp_path, ragate):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "tides.md").write_text("# Tides\n\nOcean tides are caused by the gravitational pull of the moon.\n")
    config = tmp_path / "app" / "config.toml"
    config.parent.mkdir()
    r = ragate("--config", str(config), "init", "--client", "claude-desktop", "--folder", str(folder), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    return folder, config, json.loads(r.stdout)


def test_init_writes_a_config_and_an_entry_the_sdk_client_launches_as_written(setup, ragate):
    folder, config, block = setup
    text = config.read_text()
    assert str(folder) in text and "allowed_roots" in text and "watch" in text and "[qdrant]" not in text  # the per-user index
    entry = block["mcpServers"]["ragate"]
    assert os.path.isabs(entry["command"]) and os.access(entry["command"], os.X_OK)
    # The config file travels as a variable, so the command line is only `serve`.
    assert entry["args"] == ["serve"] and entry["env"]["RAGATE_CONFIG"] == str(config) and "RAGATE_TOKEN" not in entry["env"]

    async def launch() -> tuple[list[str], str]:
        params = StdioServerParameters(command=entry["command"], args=entry["args"], env={**os.environ, **entry["env"]}, cwd="/")
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            text = ""
            with anyio.move_on_after(120):  # the service indexes the watched folder once its models are in
                while "tides.md" not in text:
                    result = await session.call_tool("search", {"query": "what causes tides", "rerank": False})
                    text = result.content[0].text
                    await anyio.sleep(1)
            return tools, text

    try:
        tools, text = anyio.run(launch)
    finally:
        ragate("--config", str(config), "service", "--stop")
    assert {"search", "answer_or_abstain", "index_paths", "feedback", "stats"} <= set(tools)
    assert "tides.md" in text  # the watched folder was indexed by the service the entry started


def test_init_merges_into_an_existing_client_file_with_a_backup(tmp_path, ragate):
    (tmp_path / ".vscode").mkdir()
    existing = {"servers": {"other": {"type": "stdio", "command": "other"}}}
    (tmp_path / ".vscode" / "mcp.json").write_text(json.dumps(existing))
    r = ragate("--config", str(tmp_path / "config.toml"), "init", "--client", "vscode", "--write", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    merged = json.loads((tmp_path / ".vscode" / "mcp.json").read_text())
    assert set(merged["servers"]) == {"other", "ragate"} and merged["servers"]["ragate"]["type"] == "stdio"
    assert json.loads((tmp_path / ".vscode" / "mcp.json.bak").read_text()) == existing


def test_doctor_passes_a_good_setup_and_names_a_broken_one(setup, ragate):
    folder, config, _ = setup
    # Half the folder in Japanese, which the default models do not read: usable, with a warning.
    (folder / "choujou.md").write_text("# 万里の長城\n\n万里の長城の入場料は四十元で、繁忙期は開館時間が長くなります。\n")
    assert ragate("--config", str(config), "index", str(folder), "--no-progress", timeout=300).returncode == 0
    r = ragate("--config", str(config), "doctor", "--json", timeout=300)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["ok"], report
    names = [c["name"] for c in report["checks"]]
    assert set(names) >= {"config", "allowed roots", "embedder", "reranker", "index service"}
    assert names.count("reranker") == 1 and not any("engine" in n for n in names)  # one verdict per model
    checks = {c["name"]: c for c in report["checks"]}
    assert " on cpu (" in checks["reranker"]["detail"] and str(config) in checks["config"]["detail"]
    assert "index " in checks["index service"]["detail"]
    languages = checks["languages of default"]
    assert languages["warning"] and "read en only" in languages["detail"] and re.search(r"\(ja \d+%\)", languages["detail"]), languages
    assert "README: Languages" in languages["fix"]
    try:
        broken = ragate("--config", str(config), "doctor", env_extra={"RAGATE_RERANKER_MODEL": "/nonexistent/reranker"}, timeout=300)
        assert broken.returncode == 1 and "FAIL reranker" in broken.stdout and "[reranker] model" in broken.stdout, broken.stdout
    finally:
        ragate("--config", str(config), "service", "--stop")


def test_a_client_with_other_settings_restarts_an_unused_service_and_is_refused_by_a_used_one(tmp_path, ragate, examples):
    env = {"RAGATE_QDRANT_PATH": str(tmp_path / "q")}
    assert ragate("index", str(examples / "science"), "--no-progress", env_extra=env).returncode == 0
    first = json.loads(ragate("stats", "--json", env_extra=env).stdout)["service"]
    connected = ServiceClient(load_settings(environ={**os.environ, **env}))
    try:
        # Per-client settings (limits, timeouts) may differ: the same service answers.
        same = ragate("stats", "--json", env_extra={**env, "RAGATE_SERVER_MAX_TOP_K": "7"})
        assert same.returncode == 0, same.stderr[-2000:]
        assert json.loads(same.stdout)["service"]["pid"] == first["pid"] and len(first["settings_fingerprint"]) == 16
        # ...and a client's own limits and defaults are the ones that hold for its calls there.
        wide = ragate("search", "tides", "-k", "120", "--json", env_extra={**env, "RAGATE_SERVER_MAX_TOP_K": "150"})
        assert wide.returncode == 0 and len(json.loads(wide.stdout)["results"]) > 10, wide.stderr[-2000:]  # the service's own limit is 100
        small = ragate("search", "tides", "-k", "10", "--json", env_extra={**env, "RAGATE_SERVER_MAX_TOKENS": "100"})
        assert small.returncode == 0 and json.loads(small.stdout)["truncated"] > 0, small.stderr[-2000:]
        assert json.loads(ragate("search", "tides", "-k", "10", "--json", env_extra=env).stdout)["truncated"] == 0
        # Nobody else uses the service: it restarts with the caller's settings, and says so.
        other = {**env, "RAGATE_BLEND_W_RETRIEVAL": "0.7"}
        moved = ragate("stats", "--json", env_extra=other)
        assert moved.returncode == 0, moved.stderr[-2000:]
        assert "restarted with this client's" in moved.stderr and "[blend] w_retrieval" in moved.stderr, moved.stderr[-2000:]
        assert json.loads(moved.stdout)["service"]["pid"] != first["pid"]
        # A connected client (an MCP server's heartbeats) keeps it: the other settings are refused, keys named.
        connected.keep_alive()  # its first beat goes at once
        time.sleep(0.5)
        refused = ragate("search", "tides", env_extra={**env, "RAGATE_RERANKER_MODEL": str(tmp_path)})
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
        assert "[reranker] model" in refused.stderr and "[blend] w_retrieval" in refused.stderr and "service --stop" in refused.stderr
        assert "1 other client(s) connected" in refused.stderr, refused.stderr[-2000:]
        # A client that closes says goodbye: the service is free to move at once.
        connected.close()
        back = ragate("stats", "--json", env_extra=env)
        assert back.returncode == 0 and "restarted with this client's" in back.stderr, back.stderr[-2000:]
    finally:
        connected.close()
        ragate("service", "--stop", env_extra=env)


@pytest.fixture(scope="session")
def inspector():
    """The official MCP Inspector's CLI, installed once from npm into a cache outside the clone."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("needs npm for the MCP Inspector")
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragate-tests" / "inspector"
    binary = home / "node_modules" / ".bin" / "mcp-inspector"
    if not binary.exists():
        home.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(
            [npm, "install", "--silent", "--prefix", str(home), "@modelcontextprotocol/inspector"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode != 0:
            pytest.skip(f"npm could not install the MCP Inspector: {r.stderr[-300:]}")
    return binary


def test_the_mcp_inspector_launches_the_init_entry_pasted_on_its_command_line(tmp_path, ragate, inspector, reranker_path):
    app = tmp_path / "app"
    app.mkdir()
    # A relative model path in this shell reaches the entry as an absolute one: the client starts ragate elsewhere.
    rel = os.path.relpath(reranker_path, tmp_path)
    r = ragate(
        "--config",
        str(app / "config.toml"),
        "init",
        "--client",
        "claude-desktop",
        env_extra={"RAGATE_RERANKER_MODEL": rel},
        cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    block = json.loads(r.stdout)
    given = block["mcpServers"]["ragate"]["env"]["RAGATE_RERANKER_MODEL"]
    assert os.path.isabs(given) and os.path.samefile(given, reranker_path)
    # The Inspector passes the server only what the entry names (beside PATH and HOME).
    # HOME is the test's own: the per-user index the server opens lives under it.
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}

    entry = block["mcpServers"]["ragate"]
    # The entry pasted into the Inspector's own command line: its variables as -e, then command and args.
    pasted = [arg for k, v in entry["env"].items() for arg in ("-e", f"{k}={v}")] + [entry["command"], *entry["args"]]

    def inspect(*method: str) -> dict:
        args = [str(inspector), "--cli", *pasted, "--method", *method]
        out = subprocess.run(args, capture_output=True, text=True, env=clean, cwd="/", timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    try:
        tools = {t["name"] for t in inspect("tools/list")["tools"]}
        assert tools == set(TOOLS)
        stats = inspect("tools/call", "--tool-name", "stats")
        assert not stats.get("isError"), stats
    finally:
        ragate("--config", str(app / "config.toml"), "service", "--stop")


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b'{"mcpServers": []}', "'mcpServers' is not a JSON object"), (b"null", "does not hold a JSON object"), (b"\xff\xfe{}", "not UTF-8")],
)
def test_init_checks_the_client_file_before_it_backs_it_up(tmp_path, ragate, content, needle):
    (tmp_path / ".mcp.json").write_bytes(content)
    r = ragate("init", "--client", "claude-code", "--write", cwd=str(tmp_path))
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert (tmp_path / ".mcp.json").read_bytes() == content and not (tmp_path / ".mcp.json.bak").exists()


def test_init_writes_no_secret_and_nothing_through_a_link(tmp_path, ragate):
    env = {
        "RAGATE_SERVER_TOKEN_ENV": "RAGATE_HTTP_BEARER",
        "RAGATE_HTTP_BEARER": "s3cret-bearer",
        "RAGATE_TOKEN": "t0ken-default",
        "RAGATE_RERANKER_API_KEY_ENV": "RAGATE_RR",
        "RAGATE_RR": "rr-key-value",
        "RAGATE_RERANKER_URL": "https://user:pa55word@rerank.example.com",
    }
    r = ragate("init", "--client", "claude-code", "--write", cwd=str(tmp_path), env_extra=env)
    assert r.returncode == 0, r.stderr[-2000:]
    written = tmp_path / ".mcp.json"
    text = written.read_text()
    for secret in ("s3cret-bearer", "t0ken-default", "rr-key-value", "pa55word"):
        assert secret not in text and secret not in r.stdout
    entry = json.loads(text)["mcpServers"]["ragate"]["env"]
    assert entry["RAGATE_SERVER_TOKEN_ENV"] == "RAGATE_HTTP_BEARER" and entry["RAGATE_RERANKER_API_KEY_ENV"] == "RAGATE_RR"
    assert written.stat().st_mode & 0o777 == 0o600
    said = next(line for line in r.stderr.splitlines() if line.startswith("not written to the client's file (secrets): "))
    assert all(name in said for name in ("RAGATE_HTTP_BEARER", "RAGATE_RR", "RAGATE_TOKEN"))
    # A cloned repository's .mcp.json pointing elsewhere (here at a file that does not exist yet).
    repo, outside = tmp_path / "repo", tmp_path / "outside" / "victim.json"
    repo.mkdir()
    outside.parent.mkdir()
    (repo / ".mcp.json").symlink_to(outside)
    r = ragate("init", "--client", "claude-code", "--write", cwd=str(repo))
    assert r.returncode == 2 and "symbolic link" in r.stderr and not outside.exists(), r.stderr[-2000:]
    # ...or its backup's name pointing elsewhere, beside a real client file.
    (repo / ".mcp.json").unlink()
    (repo / ".mcp.json").write_text("{}")
    (repo / ".mcp.json.bak").symlink_to(outside)
    r = ragate("init", "--client", "claude-code", "--write", cwd=str(repo))
    assert r.returncode == 2 and "symbolic link" in r.stderr and not outside.exists(), r.stderr[-2000:]


def test_doctor_names_the_config_file_in_force_when_none_is_given(tmp_path, ragate):
    # ./config.toml is read without --config; doctor says so (a missing root keeps it from starting a service).
    (tmp_path / "config.toml").write_text('[server]\nallowed_roots = ["/definitely/missing"]\n')
    r = ragate("doctor", "--json", cwd=str(tmp_path))
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["config"]["detail"] == f"{(tmp_path / 'config.toml').resolve()} (config.toml in the working directory)"
    assert checks["allowed roots"]["ok"] is False and r.returncode == 1
