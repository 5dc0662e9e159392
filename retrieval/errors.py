"""Every error a caller can act on, in one hierarchy. Each adapter (the CLI, the MCP tools, the
index service's socket) catches `RagateError` once and reports it by its `kind` through one table
of its own (`ERROR_EXITS` in server/cli/main.py, `TOOL_ERROR_WORDS` in server/mcp/tools.py,
`HTTP_STATUS` in server/service/process.py); anything else is a bug and is reported as an internal
error, never as "fix your input".

    RagateError                  kind
    ├── BadInput                 bad_input     a request, flag or file the caller gave is wrong (names the field and limit)
    │   ├── GlobError            bad_input     a glob over the complexity limits
    │   └── ConfigError          config        config.toml or a RAGATE_* variable is wrong (names the key)
    │       └── SettingsMismatch settings      a client's settings differ from those its index service runs with
    ├── NotFound                 not_found     a file or folder the caller named does not exist
    ├── IngestError              ingest        a path cannot be indexed (outside the allowed roots, unreadable)
    │   └── ExtractionError      ingest        one file's text cannot be extracted (it is skipped, with this reason)
    ├── StoreError               store         the index: locked, schema mismatch, wrong embedder
    │   ├── UnknownCollection    unknown_collection
    │   └── ServiceUnavailable   service_unavailable   the index service could not be started or died during a write
    ├── ModelLoadError           model         a configured model cannot be loaded (names the config key)
    ├── ModelUnavailable         model_unavailable     a model server or hosted API failed after its retries, or its circuit is open
    ├── DeadlineExceeded         timeout       the call ran past [server] tool_timeout_s; its work was stopped
    ├── Cancelled                cancelled     the caller cancelled or went away, or the service is stopping; its work was stopped
    ├── TrainingError            training      `ragate tune` cannot train on what it was given
    ├── ServeError               serve         `ragate serve` cannot start as configured
    └── InternalError            internal      a bug in ragate (in the index service), not the caller's doing

The index service sends an error as {"kind", "message"}; its client raises the class of that kind
(`from_wire`), so a call through the service fails exactly as the same call in this process would.
A crash in the service comes back as `internal`: each adapter says it is a bug and where the
traceback is, never "fix your input".
`BadInput` and `ConfigError` are also ValueErrors, so pydantic validators that raise them report
the field; nothing catches a bare ValueError as a user error."""

from __future__ import annotations

from typing import ClassVar


class RagateError(Exception):
    """An error the caller can act on; the message says what to change."""

    kind: ClassVar[str] = "error"
    _by_kind: ClassVar[dict[str, type[RagateError]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The first class to claim a kind is the one a client raises for it (a subclass that
        # keeps its parent's kind does not take it over).
        RagateError._by_kind.setdefault(cls.kind, cls)

    def to_wire(self) -> dict[str, str]:
        return {"kind": self.kind, "message": str(self)}

    @staticmethod
    def from_wire(kind: str, message: str) -> RagateError:
        return RagateError._by_kind.get(kind, RagateError)(message)


class BadInput(RagateError, ValueError):
    """Input the caller can fix; the message names the field and the limit."""

    kind = "bad_input"


class GlobError(BadInput):
    """A glob over the complexity limits."""


class ConfigError(BadInput):
    """A setting that cannot be used; the message names the key."""

    kind = "config"


class SettingsMismatch(ConfigError):
    """A client whose settings differ from its index service's in what changes results or access."""

    kind = "settings"


class NotFound(RagateError):
    """A file or folder the caller named does not exist."""

    kind = "not_found"


class IngestError(RagateError):
    """A path that cannot be indexed as asked."""

    kind = "ingest"


class ExtractionError(IngestError):
    """A file whose text cannot be extracted (it is skipped with this reason, counted under
    `skip_kind`: one of retrieval/ingest.py's SKIP_KINDS)."""

    def __init__(self, message: str, skip_kind: str = "failed"):
        super().__init__(message)
        self.skip_kind = skip_kind


class StoreError(RagateError):
    """A store problem the user can act on (locked, unknown collection, schema mismatch)."""

    kind = "store"


class UnknownCollection(StoreError):
    kind = "unknown_collection"


class ServiceUnavailable(StoreError):
    """The index service could not be started, or stopped during a write."""

    kind = "service_unavailable"


class ModelLoadError(RagateError):
    """A configured model that cannot be loaded, with the config key to change."""

    kind = "model"

    def __init__(self, model: str, cause: BaseException | str = "", config_key: str = ""):
        if not config_key:  # raised again by a client from the wire: the message is already whole
            super().__init__(model)
            self.model, self.config_key, self.reason = "", "", model
            return
        self.model = model
        self.config_key = config_key
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        self.reason = reason[:300]
        section, key = config_key.split(".", 1)
        env = "RAGATE_" + config_key.replace(".", "_").upper()
        where = " to a local model directory or a hub name reachable from this machine" if key.endswith("model") else ""
        super().__init__(f"cannot load model {model!r}: {self.reason}. Set [{section}] {key} in config.toml (or {env}){where}.")


class ModelUnavailable(RagateError):
    """A remote model (a model server or a hosted API) that did not answer usefully: down, timing
    out, rate-limited past its retries, answering 5xx or a malformed body, or refusing the key."""

    kind = "model_unavailable"


class DeadlineExceeded(RagateError, TimeoutError):
    """The request ran past its time limit ([server] tool_timeout_s); its work was stopped."""

    kind = "timeout"


class Cancelled(RagateError):
    """The call was cancelled (an MCP cancellation, a caller that went away, a service told to
    stop); its work stopped at the next stage boundary and what was written before stays whole."""

    kind = "cancelled"


class TrainingError(RagateError):
    """`ragate tune` (fine-tuning or distillation) cannot run on what it was given."""

    kind = "training"


class ServeError(RagateError):
    """`ragate serve` cannot start as configured (e.g. HTTP without a token)."""

    kind = "serve"


class InternalError(RagateError):
    """A bug met by the index service (its log has the traceback), raised again in its client."""

    kind = "internal"
