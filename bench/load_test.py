"""Bounded load test of `ragate serve --http` on loopback: N concurrent MCP clients (default 50)
for a fixed duration (default 60 s), each calling search, rerank and answer_or_abstain in turn
with questions from examples/questions.jsonl.

    python -m bench.load_test [--clients 50] [--seconds 60] [--scrape-every 15] [--json]

Prints calls, errors, p50/p95/p99 latency per tool and the server's resident memory after
warm-up and at the end (growth must stay under 10%), and every --scrape-every seconds what a
`curl` of GET /metrics shows (calls, rerank pairs, gate decisions, calls waiting). Loopback only: the server binds 127.0.0.1
with a random token and a private index directory, and is stopped at the end."""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np

from tests.launcher import free_port, http_server, http_session

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = os.environ.get("RAGATE_RERANKER_MODEL") or str(ROOT.parent / "shared" / "models" / "ragate-ce-minilm-l6-scifact")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def tool_call(rng: random.Random, questions: list[str], candidates: int) -> tuple[str, dict]:
    q = rng.choice(questions)
    kind = rng.choice(["search", "rerank", "answer_or_abstain"])
    if kind == "search":
        return kind, {"query": q, "top_k": 5, "candidates": candidates}
    if kind == "rerank":
        return kind, {"query": q, "documents": rng.sample(questions, 8), "top_n": 3}
    return kind, {"query": q}


SCRAPED = {  # series name -> what the summary calls it
    "ragate_tool_calls_total": "calls",
    "ragate_rerank_pairs_total": "rerank_pairs",
    "ragate_rerank_cached_pairs_total": "cached_pairs",
    "ragate_gate_decisions_total": "gate_decisions",
    "ragate_calls_waiting": "waiting",
    "ragate_stage_latency_seconds_count": "stage_observations",
}


def scrape(port: int, token: str) -> dict:
    """One `curl` of /metrics (the token passed in a header file, not on the command line), summed per series."""
    from prometheus_client.parser import text_string_to_metric_families

    with tempfile.NamedTemporaryFile("w", suffix=".hdr") as h:
        h.write(f"Authorization: Bearer {token}\n")
        h.flush()
        out = subprocess.run(["curl", "-sf", "-H", f"@{h.name}", f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": f"curl exited {out.returncode}"}
    sums = dict.fromkeys(SCRAPED.values(), 0.0)
    for family in text_string_to_metric_families(out.stdout):
        for sample in family.samples:
            if sample.name in SCRAPED:
                sums[SCRAPED[sample.name]] += sample.value
    return {k: int(v) for k, v in sums.items()}


async def run(args) -> dict:
    questions = [json.loads(line)["question"] for line in (ROOT / "examples" / "questions.jsonl").read_text().splitlines() if line.strip()]
    port, token = free_port(), secrets.token_urlsafe(24)
    latencies: dict[str, list[float]] = {"search": [], "rerank": [], "answer_or_abstain": []}
    errors: list[str] = []
    memory: list[tuple[float, float]] = []
    scrapes: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ragate-load-") as tmp:
        env = {
            "RAGATE_QDRANT_PATH": tmp,
            "RAGATE_RERANKER_MODEL": DEFAULT_MODEL,
            "RAGATE_SERVER_ALLOWED_ROOTS": json.dumps([str(ROOT / "examples")]),
            "RAGATE_RETRIEVAL_CANDIDATES": str(args.candidates),
        }
        with http_server(env, port, token, capture=False) as proc:
            async with http_session(port, token) as s:
                r = await s.call_tool("index_paths", {"paths": [str(ROOT / "examples" / "corpus")]})
                if r.is_error:
                    raise RuntimeError(r.content[0].text)
            log(f"server pid {proc.pid} on 127.0.0.1:{port}; {args.clients} clients for {args.seconds:g}s")
            t0 = time.monotonic()
            stop = t0 + args.seconds

            async def client(i: int) -> None:
                rng = random.Random(i)
                try:
                    async with http_session(port, token, read_timeout=600) as s:
                        while time.monotonic() < stop:
                            name, call_args = tool_call(rng, questions, args.candidates)
                            t = time.perf_counter()
                            r = await s.call_tool(name, call_args)
                            if r.is_error:
                                errors.append(f"{name}: {r.content[0].text[:200]}")
                            else:
                                latencies[name].append((time.perf_counter() - t) * 1000)
                except Exception as e:  # a dropped connection is an error of the run, not a crash of the bench
                    errors.append(f"client {i}: {type(e).__name__}: {e}"[:300])

            async def sample_memory() -> None:
                while time.monotonic() < stop:
                    memory.append((time.monotonic() - t0, rss_mb(proc.pid)))
                    await anyio.sleep(1.0)

            async def scrape_metrics() -> None:
                """`curl` of GET /metrics while the load runs, as an operator's scraper sees it."""
                while time.monotonic() < stop:
                    await anyio.sleep(args.scrape_every)
                    scrapes.append({"t_s": round(time.monotonic() - t0, 1), **await anyio.to_thread.run_sync(scrape, port, token)})
                    log(f"  /metrics at {scrapes[-1]['t_s']:5.1f}s: {scrapes[-1]}")

            async with anyio.create_task_group() as tg:
                tg.start_soon(sample_memory)
                tg.start_soon(scrape_metrics)
                for i in range(args.clients):
                    tg.start_soon(client, i)
            wall = time.monotonic() - t0
    warm = [m for t, m in memory if t >= args.warmup]
    base = warm[0] if warm else 0.0
    out = {
        "clients": args.clients,
        "seconds": round(wall, 1),
        "calls": sum(len(v) for v in latencies.values()),
        "errors": len(errors),
        "error_samples": errors[:5],
        "tools": {},
        "rss_mb_after_warmup": round(base, 1),
        "rss_mb_max": round(max(warm) if warm else 0.0, 1),
        "rss_mb_end": round(warm[-1] if warm else 0.0, 1),
        "metrics_scrapes": scrapes,
    }
    out["rss_growth"] = round((out["rss_mb_max"] - base) / base, 4) if base else None
    for name, ms in latencies.items():
        if ms:
            p = np.percentile(ms, [50, 95, 99])
            out["tools"][name] = {
                "calls": len(ms),
                "p50_ms": round(float(p[0]), 1),
                "p95_ms": round(float(p[1]), 1),
                "p99_ms": round(float(p[2]), 1),
            }
    everything = [x for v in latencies.values() for x in v]
    if everything:
        p = np.percentile(everything, [50, 95, 99])
        out.update(p50_ms=round(float(p[0]), 1), p95_ms=round(float(p[1]), 1), p99_ms=round(float(p[2]), 1))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load_test", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50, help="concurrent MCP clients (default 50)")
    ap.add_argument("--seconds", type=float, default=60.0, help="duration of the load (default 60)")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before the memory baseline is taken (default 10)")
    ap.add_argument("--candidates", type=int, default=20, help="fused pool per search/answer call (default 20)")
    ap.add_argument("--scrape-every", type=float, default=15.0, help="seconds between `curl`s of /metrics during the load (default 15)")
    ap.add_argument("--json", action="store_true", help="end with one JSON object on stdout")
    args = ap.parse_args(argv)
    out = anyio.run(run, args)
    log(f"\n{out['calls']} calls in {out['seconds']}s from {out['clients']} clients, {out['errors']} errors")
    for name, t in out["tools"].items():
        log(f"  {name:<18} {t['calls']:5d} calls  p50 {t['p50_ms']:8.1f} ms  p95 {t['p95_ms']:8.1f} ms  p99 {t['p99_ms']:8.1f} ms")
    if "p50_ms" in out:
        log(f"  {'all':<18} {out['calls']:5d} calls  p50 {out['p50_ms']:8.1f} ms  p95 {out['p95_ms']:8.1f} ms  p99 {out['p99_ms']:8.1f} ms")
    log(
        f"server RSS: {out['rss_mb_after_warmup']} MB after warm-up, max {out['rss_mb_max']} MB, end {out['rss_mb_end']} MB "
        f"(growth {100 * (out['rss_growth'] or 0):.1f}%)"
    )
    for e in out["error_samples"]:
        log(f"  error: {e}")
    if args.json:
        print(json.dumps(out))
    return 0 if out["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
