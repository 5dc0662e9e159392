"""The blend stage's cost: `scoring.blend.blend_pool` (MMR on the blended score with the
per-document cap) over pools of 100 and 200 candidates with 384-dimension vectors, p50 of 50 runs.

    python -m bench.blend_speed
"""

from __future__ import annotations

import time

import numpy as np

from bench.real_folder import machine
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.documents import Chunk
from ragate.scoring.blend import BlendWeights, blend_pool


def pool(n: int, rng: np.random.Generator) -> list[Candidate]:
    """n candidates from n/5 documents, with random vectors, relevance and fused scores."""
    out = []
    for i in range(n):
        chunk = Chunk(
            chunk_id=f"c{i}",
            doc_id=f"d{i % (n // 5)}",
            chunk_index=i,
            text="x",
            source="s",
            title="",
            heading_path=[],
            char_start=0,
            char_end=1,
            content_hash="",
        )
        vector = rng.normal(size=384).astype(np.float32)
        out.append(Candidate(chunk=chunk, vector=vector, relevance=float(rng.random()), rerank=0.0, fused=float(rng.random())))
    return out


def main() -> int:
    rng = np.random.default_rng(0)
    print(f"{machine()}: blend_pool, p50 of 50 runs")
    for n in (100, 200):
        cands, times = pool(n, rng), []
        for _ in range(50):
            started = time.perf_counter()
            blend_pool(cands, BlendWeights())
            times.append(time.perf_counter() - started)
        print(f"  {n} candidates: {1000 * float(np.median(times)):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
