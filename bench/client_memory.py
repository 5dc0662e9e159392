"""Resident memory of many MCP clients on one index: one `ragate serve` (stdio) plus the index
service, against three of them plus the service, measured side by side in one run.

Each extra client is a thin process (the MCP transport and a socket to the service); the models
live once, in the service. Target: three clients + service ≤ 1.3x one client + service.

    python -m bench.client_memory [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import anyio

from tests.launcher import stdio_session

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = os.environ.get("RAGATE_RERANKER_MODEL") or str(ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve_children() -> list[int]:
    """`ragate serve` processes this benchmark started (the SDK's stdio transport spawns them)."""
    me, out = os.getpid(), []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == me and "ragate.server.cli.main serve" in cmd:
                out.append(int(d.name))
    return out


async def measure(env: dict[str, str], clients: int) -> dict[str, float]:
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(stdio_session(env)) for _ in range(clients)]
        for s in sessions:  # every client has served a reranked search
            r = await s.call_tool("search", {"query": "What causes ocean tides?", "top_k": 3})
            assert not r.is_error, r.content[0].text
        service_pid = (await sessions[0].call_tool("stats", {})).structured_content["service"]["pid"]
        servers = [rss_mb(p) for p in serve_children()]
        return {
            "clients": clients,
            "serve_rss_mb": round(sum(servers), 1),
            "service_rss_mb": round(rss_mb(service_pid), 1),
            "total_rss_mb": round(sum(servers) + rss_mb(service_pid), 1),
        }


async def main_async(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="ragate-mem-") as tmp:
        env = {
            **os.environ,
            "RAGATE_QDRANT_PATH": f"{tmp}/q",
            "RAGATE_RERANKER_MODEL": DEFAULT_MODEL,
            "RAGATE_SERVER_ALLOWED_ROOTS": json.dumps([str(ROOT / "examples")]),
        }
        async with stdio_session(env) as s:
            r = await s.call_tool("index_paths", {"paths": [str(ROOT / "examples" / "corpus")]})
            assert not r.is_error, r.content[0].text
        one = await measure(env, 1)
        three = await measure(env, 3)
    return {"one": one, "three": three, "ratio": round(three["total_rss_mb"] / one["total_rss_mb"], 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = ap.parse_args(argv)
    out = anyio.run(main_async, args)
    for k in ("one", "three"):
        m = out[k]
        log(f"{m['clients']} client(s): serve {m['serve_rss_mb']} MB + service {m['service_rss_mb']} MB = {m['total_rss_mb']} MB")
    log(f"ratio three/one: {out['ratio']} (target <= 1.3)")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
