"""`claude`: listwise reranking by Claude ([llm] settings), as in RankGPT: the model reads a window
of numbered passages and answers with their order ("[2] > [1] > [3]"); the window slides from the
bottom of the pool to the top, `step` places at a time, so good passages rise through it.

A list order is all it gives, so the score is a place: 0 for the first passage, -1 for the next, and
so on. That is a rank, not a probability; the gate reads it only through a calibration fitted on
it (`ragate calibrate`), and an uncalibrated sigmoid of it says nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import numpy as np

from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.deadline import remaining
from ragate.retrieval.errors import ModelUnavailable
from ragate.scoring.rerankers.base import Reranker, by_query

SYSTEM = (
    "You rank passages by how well they answer a search query. Reply with the passage numbers only, "
    "most relevant first, in the form [2] > [1] > [3], listing every passage once."
)
MAX_PASSAGE_CHARS = 1500  # a window of 20 stays well inside the context and the tool timeout
_NUMBER = re.compile(r"\[(\d+)\]")


def parse_order(text: str, n: int) -> list[int]:
    """0-based positions in the order the reply gives; unknown or repeated numbers are ignored, and
    passages it left out keep their order after the ones it ranked."""
    seen: list[int] = []
    for m in _NUMBER.finditer(text):
        i = int(m.group(1)) - 1
        if 0 <= i < n and i not in seen:
            seen.append(i)
    return seen + [i for i in range(n) if i not in seen]


def windows(n: int, window: int, step: int) -> list[tuple[int, int]]:
    """(start, end) of each window, bottom first, the last one the top `window` places."""
    if n <= window:
        return [(0, n)]
    out, end = [], n
    while True:
        start = max(0, end - window)
        if start == 0:  # the top window is a whole one: the best places get the most comparisons
            out.append((0, window))
            return out
        out.append((start, end))
        end -= step


class ListwiseReranker(Reranker):
    kind = "claude-listwise"
    device = "remote"
    pointwise = False
    scores = "minus the passage's place in Claude's listwise order (0 first, -1 next): a rank, calibrated before the gate reads it"

    def __init__(self, client, model: str, *, window: int = 20, step: int = 10, timeout_s: float = 30.0):
        super().__init__(f"claude:{model}", cache_size=0)  # a score depends on the whole list: nothing to cache per pair
        self.client, self.model, self.timeout_s = client, model, timeout_s
        self.window, self.step = window, min(step, window - 1)
        self.engine_reason = f"listwise prompts to {model}, windows of {window} moving up by {self.step}"
        self.usage = {"input_tokens": 0, "output_tokens": 0}

    def _rank_window(self, query: str, passages: list[str]) -> list[int]:
        import anthropic

        listed = "\n\n".join(f"[{i}] {' '.join(p.split())[:MAX_PASSAGE_CHARS]}" for i, p in enumerate(passages, start=1))
        left = remaining()
        client = self.client.with_options(max_retries=0, **({"timeout": max(0.1, min(self.timeout_s, left))} if left is not None else {}))
        try:
            msg = client.messages.create(
                model=self.model,
                max_tokens=8 * len(passages) + 16,
                system=SYSTEM,
                messages=[{"role": "user", "content": f"Query: {query}\n\nPassages:\n\n{listed}\n\nOrder all {len(passages)} passages."}],
            )
        except anthropic.APIError as e:
            raise ModelUnavailable(f"reranker {self.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
        for k in self.usage:
            self.usage[k] += int(getattr(msg.usage, k, 0) or 0)
        text = "".join(getattr(b, "text", "") for b in msg.content)
        return parse_order(text, len(passages))

    def order(self, query: str, passages: Sequence[str]) -> list[int]:
        """Indices of `passages`, best first, after the window has slid to the top."""
        order = list(range(len(passages)))
        for start, end in windows(len(passages), self.window, self.step):
            check_deadline("rerank")
            inside = order[start:end]
            ranked = self._rank_window(query, [passages[i] for i in inside])
            order[start:end] = [inside[j] for j in ranked]
        return order

    def _score_uncached(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.zeros(len(passages), dtype=np.float32)
        for q, idx in by_query(queries).items():
            for place, j in enumerate(self.order(q, [passages[i] for i in idx])):
                out[idx[j]] = -float(place)
        if len(passages):
            self._measured(len(passages), time.perf_counter() - t0)
        return out
