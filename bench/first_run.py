"""The first five minutes, timed: what a new user waits for on a machine that has never run ragate.

Each run gets a fresh index directory and a fresh engine directory (no exports, no `auto`
verdicts), so it pays everything a first start pays except the install:
1. `ragate index examples/` then `ragate search "..."` from the command line (the README's main job);
2. an MCP client's first session over stdio against another fresh index: `index_paths`, then the
   first `search` tool call, each timed from the client's side.
Prints the seconds of each step and, from `stats`, the engines the first calls ran on and whether a
measurement was still pending.

    RAGATE_RERANKER_MODEL=../shared/models/ragate-ce-minilm-l6-scifact python -m bench.first_run [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.launcher import stdio_session

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
QUERY = "What causes the tides in the ocean?"
CLI = [sys.executable, "-m", "ragate.server.cli.main"]


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "RAGATE_QDRANT_PATH": str(root / "q"), "RAGATE_RERANKER_ONNX_DIR": str(root / "onnx")}


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"ragate {' '.join(args)} failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t0, r.stdout


def cli_run(root: Path) -> dict[str, Any]:
    env = _env(root)
    index_s, _ = _timed(["index", str(EXAMPLES), "--no-progress"], env)
    search_s, out = _timed(["search", QUERY, "--json"], env)
    stage = json.loads(out).get("rerank_stage") or {}
    _, stats = _timed(["stats", "--json"], env)
    _timed(["service", "--stop"], env)
    s = json.loads(stats)
    return {
        "index_s": round(index_s, 1),
        "search_s": round(search_s, 1),
        "total_s": round(index_s + search_s, 1),
        "search_engine": stage.get("engine"),
        "search_engine_pending": stage.get("engine_pending"),
        "engines_after": {m: (s[m]["engine"], s[m]["engine_pending"]) for m in ("embedder", "reranker")},
    }


async def mcp_run(root: Path) -> dict[str, Any]:
    env = _env(root)
    t0 = time.perf_counter()
    async with stdio_session(env) as s:
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        await s.call_tool("index_paths", {"paths": [str(EXAMPLES)]})
        index_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        res = (await s.call_tool("search", {"query": QUERY, "top_k": 3})).structured_content
        search_s = time.perf_counter() - t2
    subprocess.run([*CLI, "service", "--stop"], env=_env(root), capture_output=True, timeout=120)
    stage = res.get("rerank_stage") or {}
    return {
        "session_s": round(started, 1),
        "index_paths_s": round(index_s, 1),
        "first_search_s": round(search_s, 1),
        "search_engine": stage.get("engine"),
        "search_engine_pending": stage.get("engine_pending"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragate-first-run-") as tmp:
        cli = cli_run(Path(tmp) / "cli")
        mcp = asyncio.run(mcp_run(Path(tmp) / "mcp"))
    result = {"cli": cli, "mcp": mcp}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"CLI: index {cli['index_s']} s + search {cli['search_s']} s = {cli['total_s']} s (search on {cli['search_engine']})")
        print(f"MCP: session {mcp['session_s']} s, index_paths {mcp['index_paths_s']} s, first search {mcp['first_search_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
