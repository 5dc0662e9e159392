"""The client side of the index service: the same use-case methods as `Pipeline`, run by the one
service process that owns the index (started here when none runs).

A read (search, answer, rerank, stats) whose service dies mid-call is retried once against a
fresh service; a write reports the failure instead, and is safe to repeat because indexing is
idempotent."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ragate.retrieval.errors import RagateError, ServiceUnavailable
from ragate.retrieval.indexer import IndexReport
from ragate.server.config import Settings
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    DeleteRequest,
    FeedbackRequest,
    IndexRequest,
    RerankRequest,
    SearchRequest,
)
from ragate.server.schemas import AnswerResponse, DeleteResult, FeedbackResult, RerankResponse, SearchResponse
from ragate.server.service.process import ServicePaths

log = logging.getLogger(__name__)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class ServiceClient:
    """Use cases of one index, answered by its service. `timeout_s` bounds each call (None: wait)."""

    def __init__(
        self, settings: Settings, *, config_path: str | None = None, timeout_s: float | None = None, deadline_s: float | None = None
    ):
        self.settings = settings
        self.paths = ServicePaths.of(settings)
        self._config_path = config_path
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s  # the service stops a call's work after this long
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, body: dict[str, Any] | None, timeout: float | None) -> tuple[int, dict[str, Any]]:
        conn = _UnixConnection(str(self.paths.socket), timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"{}")
        finally:
            conn.close()

    def _spawn(self) -> None:
        cmd = [sys.executable, "-m", "ragate.server.cli.main"]
        if self._config_path:
            cmd += ["--config", self._config_path]
        self.paths.index_dir.mkdir(parents=True, exist_ok=True)
        # Its first start on a machine is silent for a while otherwise: say what it is doing and where it writes.
        log.warning(
            "starting the index service for %s (its log: %s); the first start on a machine exports the models "
            "and measures their CPU engines, which can take a minute or two",
            self.paths.index_dir,
            self.paths.log,
        )
        with open(self.paths.log, "ab") as logfile:
            # Its own session: the service outlives this client and ignores its Ctrl-C.
            subprocess.Popen([*cmd, "service"], stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile, start_new_session=True)

    def ensure_started(self) -> None:
        """Connect to the running service, or start one and wait for its socket."""
        try:
            self._request("GET", "/ping", None, 5)
            return
        except (FileNotFoundError, ConnectionRefusedError):  # none running, or a stale socket from a dead one
            pass
        self._spawn()
        deadline = time.monotonic() + self.settings.service.start_timeout_s
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                self._request("GET", "/ping", None, 5)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                continue
        raise ServiceUnavailable(
            f"the index service for {self.paths.index_dir} did not start within {self.settings.service.start_timeout_s:g}s "
            f"([service] start_timeout_s); see {self.paths.log}"
        )

    def _call(self, name: str, *, request: BaseModel | None = None, options: dict[str, Any] | None = None, read: bool) -> Any:
        body = {
            "request": request.model_dump(mode="json") if request is not None else None,
            "options": options or {},
            "deadline_s": self._deadline_s,
        }
        # No ping first: a call that finds no service sent nothing, so it starts one and sends again.
        retried_read = False
        for _ in range(3):
            try:
                status, data = self._request("POST", f"/call/{name}", body, self._timeout_s)
                break
            except (FileNotFoundError, ConnectionRefusedError):  # none running, or a stale socket from a dead one
                self.ensure_started()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                if not read or retried_read:
                    raise ServiceUnavailable(
                        f"the index service stopped during {name}; nothing half-written is kept, run it again"
                    ) from None
                retried_read = True
                log.warning("index service stopped during %s (%s); restarting it and retrying", name, type(e).__name__)
                self.ensure_started()
        else:
            raise ServiceUnavailable(f"the index service for {self.paths.index_dir} kept refusing {name}; see {self.paths.log}")
        if "error" in data:
            err = data["error"]
            raise RagateError.from_wire(err["kind"], err["message"])
        return data["result"]

    # ------------------------------------------------------------------ use cases, as in Pipeline

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Always ready: each call starts the service when it finds none, and waits for its models."""
        return True

    def search(self, req: SearchRequest) -> SearchResponse:
        return SearchResponse.model_validate(self._call("search", request=req.check(self.settings.server), read=True))

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        return AnswerResponse.model_validate(self._call("answer", request=req.check(self.settings.server), read=True))

    def rerank(self, req: RerankRequest) -> RerankResponse:
        return RerankResponse.model_validate(self._call("rerank", request=req.check(self.settings.server), read=True))

    def index(self, req: IndexRequest, *, allowed_roots: list[str] | None = None, progress: bool = False) -> IndexReport:
        """`progress` draws a bar here from the service's file count while it indexes."""
        opts = {"allowed_roots": allowed_roots}
        call = lambda: self._call("index", request=req.check(self.settings.server), options=opts, read=False)  # noqa: E731
        return IndexReport.model_validate(self._with_progress_bar(call) if progress else call())

    def _with_progress_bar(self, call: Callable[[], Any]) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        from tqdm import tqdm

        with ThreadPoolExecutor(1) as pool, tqdm(desc="indexing", unit="file", file=sys.stderr, dynamic_ncols=True) as bar:
            job = pool.submit(call)
            while not job.done():
                try:
                    _, state = self._request("GET", "/progress", None, 5)
                    bar.total, bar.n = state["total"] or None, state["done"]
                    bar.refresh()
                except (OSError, http.client.HTTPException):
                    pass  # starting, restarting or killed mid-reply: the call itself reports failures
                time.sleep(0.3)
            return job.result()

    def add_documents(self, req: AddDocumentsRequest) -> IndexReport:
        return IndexReport.model_validate(self._call("add_documents", request=req.check(self.settings.server), read=False))

    def delete(self, req: DeleteRequest) -> DeleteResult:
        return DeleteResult.model_validate(self._call("delete", request=req.check(self.settings.server), read=False))

    def feedback(self, req: FeedbackRequest) -> FeedbackResult:
        return FeedbackResult.model_validate(self._call("feedback", request=req.check(self.settings.server), read=False))

    def sample_chunks(self, options: dict[str, Any]) -> list[dict[str, str]]:
        return self._call("sample_chunks", options=options, read=True)

    def drop_collection(self, collection: str | None = None) -> str:
        return self._call("drop_collection", options={"collection": collection}, read=False)

    def stats(self) -> dict[str, Any]:
        return self._call("stats", read=True)

    def watch(self, paths: list[str]) -> dict[str, Any]:
        return self._call("watch", options={"paths": [os.path.abspath(p) for p in paths]}, read=False)

    def evaluate(self, options: dict[str, Any]) -> dict[str, Any]:
        return self._call("eval", options=options, read=True)

    def calibrate(self, options: dict[str, Any]) -> dict[str, Any]:
        return self._call("calibrate", options=options, read=False)

    # ------------------------------------------------------------------ lifetime

    def keep_alive(self, every_s: float) -> None:
        """Heartbeats while this client lives, so the service stays up for a connected MCP server."""

        def beat() -> None:
            while not self._closed.wait(every_s):
                try:
                    self._request("GET", "/ping", None, 5)
                except OSError:
                    pass  # down: the next call starts it again

        self._heartbeat = threading.Thread(target=beat, name="ragate-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_service(self) -> bool:
        """Ask the running service to exit after the calls in flight; False when none runs."""
        try:
            self._request("POST", "/stop", {}, 5)
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            return False

    def close(self) -> None:
        self._closed.set()


def open_use_cases(
    settings: Settings,
    *,
    config_path: str | None = None,
    deadline_s: float | None = None,
    need_reranker: bool = True,
    background: bool = False,
):
    """The index's use cases: through its service on the embedded store; in this process against a
    Qdrant server (`[qdrant] url`), where the server is the shared owner and no service is needed.
    `deadline_s` bounds each call's work (the tool timeout); `background` loads a local pipeline's
    models in a thread (a server answers its handshake first)."""
    if not settings.qdrant.url:
        # The socket read waits a little longer than the deadline, for the service's own answer.
        timeout_s = None if deadline_s is None else deadline_s + 10
        return ServiceClient(settings, config_path=config_path, timeout_s=timeout_s, deadline_s=deadline_s)
    from ragate.server.model_loader import Models
    from ragate.server.pipeline import Pipeline

    models = Models(settings)
    if background:
        models.load_in_background()
    else:
        models.load(need_reranker=need_reranker)
    return Pipeline(settings, models)
