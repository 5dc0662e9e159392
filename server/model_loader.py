"""Loads the models once (optionally in the background) and says why one could not load."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.chunking import ChunkingSettings, TokenOffsets, hf_token_offsets, word_offsets
from ragate.retrieval.embedder import Embedder, TextKind
from ragate.retrieval.errors import ModelLoadError
from ragate.retrieval.model_paths import resolve_model
from ragate.retrieval.remote_embedder import RemoteEmbedder
from ragate.scoring.engines.embedder import apply_engine
from ragate.scoring.engines.reranker import CrossEncoderReranker
from ragate.scoring.rerank_stage import FirstPass
from ragate.scoring.rerankers.base import Reranker
from ragate.scoring.rerankers.causal_lm import CausalLmReranker
from ragate.scoring.rerankers.listwise import ListwiseReranker
from ragate.scoring.rerankers.remote import API as RERANK_APIS
from ragate.scoring.rerankers.remote import HOSTED, RemoteReranker
from ragate.server.config import RerankerSettings, Settings, user_dir
from ragate.server.llm.answer_writer import llm_client

log = logging.getLogger(__name__)


def onnx_dir(settings: Settings) -> Path:
    """Exported graphs (reranker and embedder) and the engines' verdicts: once per machine and model,
    in the user's cache folder, shared by every index (a verdict is about this CPU, not an index),
    unless configured elsewhere."""
    r = settings.reranker
    return Path(r.onnx_dir) if r.onnx_dir else user_dir("cache") / "engines"


def cross_encoder(
    settings: Settings, model: str, *, config_key: str, device: str | None = None, serving: bool = True
) -> CrossEncoderReranker:
    """A cross-encoder on the [reranker] engine settings (backend, precision, threads, exports);
    `serving` adds the score cache and micro-batching that searches share, which a one-off
    scoring run (a teacher labelling pairs) does without."""
    r = settings.reranker
    return CrossEncoderReranker(
        model,
        device or r.device,
        r.max_length,
        r.batch_size,
        r.precision,
        r.threads,
        backend=r.backend,
        cache_dir=onnx_dir(settings),
        cache_size=r.cache_size if serving else 0,
        microbatch_wait_ms=r.microbatch_wait_ms if serving else 0.0,
        microbatch_max_pairs=r.microbatch_max_pairs,
        config_key=config_key,
        measure=r.measure,
    )


def reranker_from(settings: Settings, r: RerankerSettings, *, serving: bool = True) -> Reranker:
    """The reranker `r` describes, whatever its provider (`ragate eval --rerankers` builds several
    from one set of settings); ModelLoadError names the key to fix."""
    key = "reranker.model"
    if r.provider == "local":
        return cross_encoder(settings.model_copy(update={"reranker": r}), r.model, config_key=key, serving=serving)
    if r.provider == "causal-lm":
        try:
            return CausalLmReranker(
                r.model,
                device=r.device,
                max_length=r.max_length,
                batch_size=r.batch_size,
                instruction=r.instruction,
                cache_size=r.cache_size if serving else 0,
            )
        except Exception as e:  # the library raises many types for a missing or broken model
            raise ModelLoadError(r.model, e, key) from None
    if r.provider == "claude":
        client = llm_client(settings.llm)
        if client is None:
            raise ModelLoadError(
                settings.llm.model, f'set [llm] provider = "anthropic" and the key in ${settings.llm.api_key_env}', "llm.provider"
            )
        return ListwiseReranker(client, r.model, window=r.listwise_window, step=r.listwise_step, timeout_s=settings.llm.timeout_s)
    api = r.provider if r.provider in HOSTED else r.api
    remote = r.remote(default_url=RERANK_APIS[api].default_url, default_key_env=RERANK_APIS[api].default_key_env)
    if not remote.url:
        raise ModelLoadError(r.identity, 'provider "http" needs the model server\'s url', "reranker.url")
    if r.provider in HOSTED and not os.environ.get(remote.api_key_env):
        raise ModelLoadError(r.identity, f"no API key in the environment variable {remote.api_key_env}", "reranker.api_key_env")
    return RemoteReranker(r.provider, api, r.model, remote, batch_size=r.batch_size, cache_size=r.cache_size if serving else 0)


def embedder_from(settings: Settings) -> Embedder | RemoteEmbedder:
    e = settings.embedder
    prefixes: dict[TextKind, str] = {"query": e.query_prefix, "passage": e.passage_prefix}
    if e.provider == "http":
        if not e.url:
            raise ModelLoadError(e.identity, 'provider "http" needs the model server\'s url', "embedder.url")
        return RemoteEmbedder(e.api, e.model, e.remote(), batch_size=e.batch_size, prefixes=prefixes, input_type=e.input_type)
    embedder = Embedder(e.model, e.device, e.batch_size, prefixes)
    apply_engine(embedder, backend=e.backend, cache_dir=onnx_dir(settings), measure=e.measure)
    return embedder


class Models:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.embedder: Embedder | RemoteEmbedder | None = None
        self.reranker: Reranker | None = None
        self.reranker_error: ModelLoadError | None = None
        self.first_pass: FirstPass | None = None  # the cascade's first stage, when [reranker] first_pass_model is set
        self.first_pass_error: ModelLoadError | None = None
        self.embedder_error: ModelLoadError | None = None
        self.token_offsets: TokenOffsets | None = None
        self.tokenizer_name = ""
        s = settings.bm25
        self.bm25 = Bm25Encoder(s.k1, s.b, s.avg_len, s.language, s.stemming, s.stopwords, s.tokenizer, s.subwords)

    def chunking(self) -> ChunkingSettings:
        return ChunkingSettings(self.settings.index.chunk_tokens, self.settings.index.chunk_overlap)

    def chunking_key(self) -> str:
        return f"{self.chunking().key()},tokenizer={self.tokenizer_name}"

    def _load(self, need_reranker: bool) -> None:
        s = self.settings
        try:
            self.embedder = embedder_from(s)
            log.info("embedder %s loaded: %s on %s", s.embedder.identity, self.embedder.kind, self.embedder.device)
        except ModelLoadError as e:
            self.embedder_error = e
            log.error("%s", e)
        if need_reranker:
            r = s.reranker
            try:
                self.reranker = reranker_from(s, r)
                log.info("reranker %s loaded: %s on %s", r.identity, self.reranker.kind, self.reranker.device)
            except ModelLoadError as e:
                self.reranker_error = e
                log.error("%s", e)
            if r.first_pass_model:
                self._load_first_pass()
        self._load_tokenizer()

    def _load_first_pass(self) -> None:
        """Without its first pass, the main model reads the whole pool; stats says why."""
        r = self.settings.reranker
        try:
            self.first_pass = FirstPass(
                reranker=cross_encoder(self.settings, r.first_pass_model, config_key="reranker.first_pass_model"), keep=r.first_pass_keep
            )
            log.info(
                "first-pass reranker %s loaded: %s, main model reads its top %d",
                r.first_pass_model,
                self.first_pass.reranker.kind,
                r.first_pass_keep,
            )
        except ModelLoadError as e:
            self.first_pass_error = e
            log.error("%s; reranking without a first pass", e)

    def _load_tokenizer(self) -> None:
        """Chunks are measured in the reranker's tokens; its tokenizer loads even where its weights
        can't, else the embedder's, else words (remote models whose tokenizers are not at hand)."""
        if self.reranker is not None and self.reranker.tokenizer is not None:
            self.token_offsets, self.tokenizer_name = hf_token_offsets(self.reranker.tokenizer), self.settings.reranker.model
            return
        r = self.settings.reranker
        try:
            from transformers import AutoTokenizer

            path = resolve_model(r.model)
            if r.provider != "local" and not Path(path).is_dir():
                # A remote model's name is the server's or the API's, not a hub repository's.
                raise ModelLoadError(r.model, "a remote reranker's tokenizer is not at hand", "reranker.model")
            tok = AutoTokenizer.from_pretrained(path)
            self.token_offsets, self.tokenizer_name = hf_token_offsets(tok), r.model
        except Exception as e:  # no network or bad path: measure chunks with the embedder's tokenizer
            reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            if self.embedder is not None and self.embedder.tokenizer is not None:
                log.warning("reranker tokenizer unavailable (%s); chunking with the embedder's tokenizer", reason)
                self.token_offsets, self.tokenizer_name = hf_token_offsets(self.embedder.tokenizer), self.settings.embedder.model
            else:
                log.warning("no model tokenizer available (%s); chunks are measured in words", reason)
                self.token_offsets, self.tokenizer_name = word_offsets, "words"

    def load(self, need_reranker: bool = True) -> Models:
        self._load(need_reranker)
        self._ready.set()
        return self

    def load_in_background(self) -> None:
        def run() -> None:
            try:
                self._load(True)
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=run, name="ragate-model-loader", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def require_embedder(self) -> Embedder | RemoteEmbedder:
        if self.embedder is None:
            raise self.embedder_error or ModelLoadError(self.settings.embedder.model, "not loaded", "embedder.model")
        return self.embedder

    def require_token_offsets(self) -> TokenOffsets:
        """How chunks are measured: set by `load`, from a model's tokenizer or in words."""
        if self.token_offsets is None:
            raise ModelLoadError(self.settings.embedder.model, "not loaded", "embedder.model")
        return self.token_offsets

    def require_reranker(self) -> Reranker:
        if self.reranker is None:
            raise self.reranker_error or ModelLoadError(self.settings.reranker.model, "not loaded", "reranker.model")
        return self.reranker
