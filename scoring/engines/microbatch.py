"""Cross-request micro-batching: concurrent callers put their pairs on one queue and a single
worker scores whatever has gathered (after a short wait, up to a pair limit) as one job, so
16 agents at once share length-sorted batches instead of fighting for the cores."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

ScoreFn = Callable[[Sequence[str], Sequence[str]], np.ndarray]


class MicroBatcher:
    def __init__(self, score: ScoreFn, max_wait_ms: float = 3.0, max_pairs: int = 512):
        self._score = score
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_pairs = max_pairs
        self._pending: list[tuple[list[str], list[str], Future]] = []
        self._cond = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="ragate-rerank-batcher", daemon=True)
        self._worker.start()
        self.jobs = 0  # scoring jobs run, for tests and stats

    def score_pairs(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        if len(queries) != len(passages):
            raise ValueError("queries and passages must have the same length")
        fut: Future = Future()
        with self._cond:
            self._pending.append((list(queries), list(passages), fut))
            self._cond.notify()
        return fut.result()

    def _take(self) -> list[tuple[list[str], list[str], Future]]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            deadline = time.monotonic() + self.max_wait_s
            while sum(len(p[0]) for p in self._pending) < self.max_pairs:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            taken, size = [], 0
            # Whole requests only; the first one goes even when it alone is over the limit.
            while self._pending and (not taken or size + len(self._pending[0][0]) <= self.max_pairs):
                req = self._pending.pop(0)
                taken.append(req)
                size += len(req[0])
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            queries = [q for req in taken for q in req[0]]
            passages = [p for req in taken for p in req[1]]
            try:
                scores = self._score(queries, passages)
                self.jobs += 1
            except BaseException as e:  # every waiting caller gets the error, the worker lives on
                for _, _, fut in taken:
                    fut.set_exception(e)
                continue
            start = 0
            for q, _, fut in taken:
                fut.set_result(scores[start : start + len(q)])
                start += len(q)
