"""Rerankers behind HTTP: a model server (`http`: Infinity, vLLM, TEI) or a hosted API (`cohere`,
`voyage`, `jina`, `zeroentropy`), each spoken in its documented request and response shape.

One call sends one query with a slice of the pool and reads one score per document back by its
index. Scores in [0, 1] (every API here but TEI's raw logits) become log-odds, so the `logit` of a
response has the meaning it has for a local cross-encoder and the uncalibrated sigmoid returns the
provider's own score; calibration is still fitted per provider and model."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragate.retrieval.deadline import remaining
from ragate.retrieval.errors import DeadlineExceeded
from ragate.retrieval.remote import JsonClient, RemoteSettings, field
from ragate.scoring.rerankers.base import Reranker, by_query, logit_of


@dataclass(frozen=True)
class RerankApi:
    """One API's shape: where it listens, how a request is written, how scores are read back."""

    path: str
    body: Callable[[str, str, list[str]], dict[str, Any]]  # (model, query, documents) -> request
    results: Callable[[Any], list[Any]]  # the answer's list of scored documents
    score_key: str = "relevance_score"
    probabilities: bool = True  # scores in [0, 1] (log-odds taken); False: already logits
    billed: Callable[[Any], float] | None = None  # the units the provider bills this call by (0 when not reported)
    max_documents: int = 0  # documents per request (hosted APIs bill per request); 0: [reranker] batch_size
    default_url: str = ""
    default_key_env: str = ""
    billing_unit: str = ""


def _docs(key: str, top: str = "", **extra: Any):
    def body(model: str, query: str, documents: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"query": query, key: documents, **extra}
        if model:
            out["model"] = model
        if top:
            out[top] = len(documents)
        return out

    return body


def _results(body: Any) -> list[Any]:
    return field(body, "results")


def _reported(*path: str) -> Callable[[Any], float]:
    """The billed units at `path` in an answer; 0 where a gateway or a compatible server leaves them out."""

    def billed(body: Any) -> float:
        try:
            return float(field(body, *path))
        except (ValueError, TypeError):
            return 0.0

    return billed


API: dict[str, RerankApi] = {
    # Model servers ([reranker] provider = "http", api = ...).
    "rerank": RerankApi("/rerank", _docs("documents"), _results),  # Infinity; vLLM's /rerank (Jina/Cohere shape)
    "tei": RerankApi(
        "/rerank",
        lambda model, query, docs: {"query": query, "texts": docs, "raw_scores": True, "truncate": True},
        lambda body: body if isinstance(body, list) else field(body, "results"),
        score_key="score",
        probabilities=False,
    ),
    "score": RerankApi(  # vLLM's /score: one query against many texts
        "/score",
        lambda model, query, docs: {"text_1": query, "text_2": docs, **({"model": model} if model else {})},
        lambda body: field(body, "data"),
        score_key="score",
    ),
    # Hosted APIs (their own provider names).
    "cohere": RerankApi(
        "/v2/rerank",
        _docs("documents", "top_n"),
        _results,
        billed=_reported("meta", "billed_units", "search_units"),
        max_documents=100,  # a search unit is one query with up to 100 documents
        default_url="https://api.cohere.com",
        default_key_env="COHERE_API_KEY",
        billing_unit="searches",
    ),
    "voyage": RerankApi(
        "/v1/rerank",
        _docs("documents", "top_k"),
        lambda body: field(body, "data"),
        billed=_reported("usage", "total_tokens"),
        max_documents=1000,
        default_url="https://api.voyageai.com",
        default_key_env="VOYAGE_API_KEY",
        billing_unit="tokens",
    ),
    "jina": RerankApi(
        "/v1/rerank",
        _docs("documents", "top_n", return_documents=False),
        _results,
        billed=_reported("usage", "total_tokens"),
        max_documents=1000,
        default_url="https://api.jina.ai",
        default_key_env="JINA_API_KEY",
        billing_unit="tokens",
    ),
    "zeroentropy": RerankApi(
        "/v1/models/rerank",
        _docs("documents", "top_n"),
        _results,
        max_documents=1000,
        default_url="https://api.zeroentropy.dev",
        default_key_env="ZEROENTROPY_API_KEY",
        billing_unit="",
    ),
}
HOSTED = ("cohere", "voyage", "jina", "zeroentropy")


def read_scores(api: RerankApi, body: Any, n: int) -> np.ndarray:
    """One score per document sent, by the index each result names; a missing, repeated or
    out-of-range index, a score that is not a finite number, or a probability API's score outside
    [0, 1] (50.0 is not a probability, and would read as certain relevance), is a malformed answer."""
    out = np.full(n, np.nan, dtype=np.float64)
    for item in api.results(body):
        i, s = field(item, "index"), field(item, api.score_key)
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < n or not np.isnan(out[i]):
            raise ValueError(f"result index {i!r} is not one of the {n} documents sent, or repeats")
        if not isinstance(s, int | float) or isinstance(s, bool) or not np.isfinite(s):
            raise ValueError(f"score {s!r} of document {i} is not a number")
        if api.probabilities and not 0.0 <= s <= 1.0:
            raise ValueError(f"score {s!r} of document {i} is not a probability in [0, 1]")
        out[i] = s
    if np.isnan(out).any():
        raise ValueError(f"scores for {int(np.isnan(out).sum())} of {n} documents are missing")
    return out


class RemoteReranker(Reranker):
    """Scores pairs with a remote model, `batch_size` documents per request, up to `concurrency`
    requests at once; a failure raises ModelUnavailable (the stage degrades, the service goes on)."""

    device = "remote"

    def __init__(self, provider: str, api: str, model: str, remote: RemoteSettings, *, batch_size: int = 32, cache_size: int = 0):
        super().__init__(f"{provider}:{model or remote.url}", cache_size=cache_size)
        self.provider, self.model, self.api = provider, model, API[api]
        self.kind = provider if provider in HOSTED else f"http-{api}"
        self.batch_size = self.api.max_documents or batch_size
        self.client = JsonClient(remote, label=f"reranker {self.name}", stage="rerank")
        self.engine_reason = f"{provider} provider at {remote.url}"
        self.scores = (
            "the log-odds of the provider's relevance score" if self.api.probabilities else "the model server's raw relevance logit"
        )
        self._pool = ThreadPoolExecutor(max_workers=remote.concurrency, thread_name_prefix="ragate-remote-rerank")
        self._billed_lock = threading.Lock()
        self.billed = 0.0  # units billed so far (searches or tokens, as the provider reports them)

    def _one(self, query: str, docs: list[str]) -> np.ndarray:
        body = self.api.body(self.model, query, docs)

        def parse(answer: Any) -> tuple[np.ndarray, float]:
            scores = read_scores(self.api, answer, len(docs))
            return scores, (self.api.billed(answer) if self.api.billed else 0.0)

        scores, billed = self.client.post(self.api.path, body, parse)
        with self._billed_lock:
            self.billed += billed
        return logit_of(scores) if self.api.probabilities else scores.astype(np.float32)

    def _score_uncached(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.zeros(len(passages), dtype=np.float32)
        jobs = []  # (indices, query, documents): one request per query and slice of its documents
        for q, idx in by_query(queries).items():
            for s in range(0, len(idx), self.batch_size):
                part = idx[s : s + self.batch_size]
                jobs.append((part, q, [passages[i] for i in part]))
        # Each request carries the caller's deadline into the worker thread.
        futures = [(part, self._pool.submit(contextvars.copy_context().run, self._one, q, docs)) for part, q, docs in jobs]
        try:
            for part, fut in futures:
                try:
                    out[part] = fut.result(timeout=remaining())
                except FutureTimeout:
                    raise DeadlineExceeded("stopped during rerank: past the request's time limit ([server] tool_timeout_s)") from None
        finally:
            for _, fut in futures:  # after a failure, the requests not yet sent are not sent
                fut.cancel()
        if len(passages):
            self._measured(len(passages), time.perf_counter() - t0)
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.client.describe()}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
