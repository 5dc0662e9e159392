"""The index service: the one process that owns an index directory — its store, models, caches,
reranker queue and folder watcher.

`ragate serve` (stdio and HTTP) and the CLI commands are its clients: they reach it over a Unix
socket in the index directory (mode 0600: only its user can connect) and start it when none
runs. Only the process holding the directory's service lock serves it, so several MCP clients and
a terminal share one index, one copy of the models and one reranker queue. The service exits
after `[service] idle_timeout_s` without calls or heartbeats from connected servers."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import anyio
import uvicorn
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ragate.retrieval.deadline import Allowance, deadline
from ragate.retrieval.edge_store import acquire_lock
from ragate.retrieval.errors import (
    BadInput,
    Cancelled,
    DeadlineExceeded,
    IngestError,
    InternalError,
    RagateError,
    SettingsMismatch,
    StoreError,
)
from ragate.retrieval.progress import reporting_to
from ragate.server.agreement import settings_differences, settings_fingerprint, shared_settings
from ragate.server.config import ServerSettings, Settings
from ragate.server.http_limits import header_deadline_protocol
from ragate.server.metrics import WatcherCollector
from ragate.server.model_loader import Models
from ragate.server.ops import OPS, STATS, WATCH, Op
from ragate.server.recent_calls import calling_as
from ragate.server.service.auto_calibration import AutoCalibration
from ragate.server.service.client import HEARTBEAT_MAX_S
from ragate.server.service.paths import ServicePaths
from ragate.server.service.watcher import FolderWatcher
from ragate.server.timing import with_wait
from ragate.server.use_cases import local_use_cases
from ragate.server.validation import validation_message

log = logging.getLogger(__name__)

IDLE_CONNECTION_S = 30  # a keep-alive connection with no request for this long is closed
# After a stop, how long calls in flight have to end once cancelled: a call stuck where no
# cancellation reaches it (a native loop, a remote read inside its own bound) is abandoned then,
# and the process exits without it.
STOP_GRACE_S = 10
# A call still running this long after the stop began is answered as cancelled and left behind,
# so its caller reads why (and does not take the dropped connection for a crash to retry).
ANSWER_ABANDONED_S = STOP_GRACE_S - 3


CALL_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
HEAVY_THREADS_PER_SLOT = 4
BODY_KEYS = frozenset({"request", "deadline_s", "settings", "limits", "call_id", "caller"})
# The HTTP status of an error, by its kind; any other kind is the caller's to fix: 400. The client
# reads the kind from the body; the status is for anyone reading the socket's HTTP (a log, a proxy).
HTTP_STATUS = {
    "not_found": 404,
    "unknown_collection": 404,
    "cancelled": 499,  # the caller went away or cancelled (nginx's code for it)
    "internal": 500,
    "service_unavailable": 503,
    "model_unavailable": 503,
    "timeout": 504,
}


class InFlight:
    """One call being served: what it reports of its progress, and how to stop it."""

    def __init__(self, name: str):
        self.name, self.allowance = name, Allowance()
        self.progress: dict[str, Any] = {"desc": "", "done": 0, "total": None}

    def report(self, desc: str, done: int, total: int | None) -> None:
        self.progress = {"desc": desc, "done": done, "total": total}


class IndexService:
    """The use cases of one Pipeline behind the socket, with activity tracking for the idle exit."""

    def __init__(self, settings: Settings, *, watch: list[str]):
        self.settings = settings
        self.models = Models(settings)
        # Threads for heavy calls, most of them waiting for one of the reranker's slots.
        self.heavy_threads = anyio.CapacityLimiter(HEAVY_THREADS_PER_SLOT * settings.server.max_concurrent_reranks)
        self.use_cases = local_use_cases(settings, self.models)
        self.shared = shared_settings(settings)
        self.watcher = FolderWatcher(self.use_cases, debounce_ms=settings.index.watch_debounce_ms)
        self.use_cases.meters.registry.register(WatcherCollector(self.watcher.describe))
        self._initial_watch = watch
        self._activity_lock = threading.Lock()
        self._in_flight = 0
        self.last_activity = time.monotonic()  # calls and heartbeats: the idle exit
        self._last_call = time.monotonic()  # calls only: when background work may run
        self.auto_calibration = AutoCalibration(
            self.use_cases.retriever, settings.calibration, idle_for=self.quiet_for, busy=lambda: self._in_flight > 0
        )
        self._stopping = ""  # why the service is stopping, once it is: calls arriving then are cancelled
        self._flights: dict[str, InFlight] = {}  # the calls in progress by call id: their progress and cancellation
        # Connected clients (MCP servers, the page) by id: when each is due to beat again at the latest.
        self._clients: dict[str, float] = {}

    def start(self) -> None:
        self.models.load_in_background()
        self.auto_calibration.start()
        if self._initial_watch:
            threading.Thread(target=self._watch_when_ready, args=(self._initial_watch,), daemon=True).start()

    def _watch_when_ready(self, paths: list[str]) -> None:
        self.models.wait()
        try:
            self.watcher.add(paths, allowed_roots=self.settings.server.allowed_roots)
        except (IngestError, BadInput) as e:
            log.error("not watching: %s", e)

    def touch(self, client: str | None = None, every_s: float | None = None, gone: bool = False) -> None:
        """Activity; with a client id, that client's heartbeat (it beats every `every_s`) or goodbye."""
        self.last_activity = time.monotonic()
        if client is None:
            return
        with self._activity_lock:
            if gone:
                self._clients.pop(client, None)
            else:
                # Connected while its beats keep coming: missing three in a row means it is gone.
                self._clients[client] = self.last_activity + 3 * min(every_s or HEARTBEAT_MAX_S, HEARTBEAT_MAX_S)

    def connected_clients(self, besides: str | None = None) -> int:
        now = time.monotonic()
        with self._activity_lock:
            self._clients = {c: due for c, due in self._clients.items() if due >= now}
            return sum(c != besides for c in self._clients)

    def replace(self, client: str | None) -> str:
        """Leave the index to a client with other settings when nobody else is using it: no other
        client connected, no call in flight, no background calibration, no watched folder (its
        watching would end). The reasons it stays, otherwise ("" when it stops)."""
        others = self.connected_clients(besides=client)
        watching = len(self.watcher.describe()["watching"])
        with self._activity_lock:
            reasons = [
                f"{n} {what}"
                for n, what in (
                    (others, "other client(s) connected"),
                    (self._in_flight, "call(s) in flight"),
                    (int(bool(self.auto_calibration.running)), "background calibration running"),
                    (watching, "folder(s) watched"),
                )
                if n
            ]
            if not reasons:
                self._stopping = "the index service is restarting with another client's settings; call again"
        return ", ".join(reasons)

    def idle_for(self) -> float:
        """How long nothing happened: no call, heartbeat or background calibration."""
        with self._activity_lock:
            busy = self._in_flight or self.auto_calibration.running
            return 0.0 if busy else time.monotonic() - max(self.last_activity, self.auto_calibration.finished_at)

    def quiet_for(self) -> float:
        """How long no call has been in flight (heartbeats do not count)."""
        with self._activity_lock:
            return 0.0 if self._in_flight else time.monotonic() - self._last_call

    def call(self, name: str, body: Any, flight: InFlight | None = None) -> Any:
        """Run one use case (in the caller's thread) and return its JSON-ready result; it stops at the
        next stage boundary once the flight's allowance is cancelled (its caller went away, or the
        service stops), and reports its progress to the flight."""
        op = OPS.get(name)
        if op is None:
            raise BadInput(f"unknown call {name!r}; calls are {', '.join(OPS)}")
        if not isinstance(body, dict):
            raise BadInput("the body must be a JSON object with request, deadline_s and settings")
        unknown = sorted(str(k)[:40] for k in set(body) - BODY_KEYS)
        if unknown:
            # A client of another version (its `options` once carried the caller's allowed roots):
            # nothing it sent is dropped without a word.
            raise BadInput(
                f"unknown key {', '.join(unknown[:5])} in the call's body: the client runs another version of ragate than "
                "the index service; restart the client (an MCP server, `ragate serve`) so both run the installed one"
            )
        limit = body.get("deadline_s")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0):
            raise BadInput(f"deadline_s: must be a positive number of seconds or null, not {json.dumps(limit)[:50]}")
        theirs = body.get("settings")
        if theirs is not None:
            self._check_agreement(theirs)
        call_id = body.get("call_id")
        if call_id is not None and not (isinstance(call_id, str) and CALL_ID.fullmatch(call_id)):
            raise BadInput("call_id: must be 1 to 64 letters, digits, '-' or '_'")
        flight = flight or InFlight(name)
        # A client's bar starts here and says why it waits at first.
        flight.report(
            "starting"
            if self.models.ready
            else "loading the models"
            + (" (a first start on a machine also measures their engines)" if self.settings.reranker.measure == "at_load" else ""),
            0,
            None,
        )
        key = call_id or f"anonymous-{id(flight)}"
        with self._activity_lock:
            if key in self._flights:
                raise BadInput(f"call_id: {key!r} is already in flight")
            if self._stopping:  # arrived after the stop began: it is cancelled like the others
                flight.allowance.cancel(self._stopping)
            self._in_flight += 1
            self._flights[key] = flight
        arrived = time.perf_counter()
        try:
            while not self.models.wait(0.5):  # a slow start is not the call's time: only a cancellation ends this wait
                if flight.allowance.cancelled.is_set():
                    raise Cancelled(f"cancelled while the models load: {flight.allowance.reason}")
            loaded = time.perf_counter()
            caller = body.get("caller") if isinstance(body.get("caller"), str) else None
            with deadline(body.get("deadline_s"), cancel=flight.allowance), reporting_to(flight.report), calling_as(caller):
                req = op.request.model_validate(body.get("request") or {}) if op.request is not None else None
                if req is not None and body.get("limits") is not None:
                    req.under(_client_limits(body["limits"]))
                result = self._dispatch(op, req)
                models_ms = (loaded - arrived) * 1000
                if op.heavy and hasattr(result, "timings_ms") and models_ms >= 1:  # it waited for the models to load
                    result.timings_ms = with_wait(result.timings_ms, "models", models_ms)
            return _jsonable(result)
        except (Cancelled, DeadlineExceeded) as e:
            log.warning("call %s %s", name, e)
            raise
        finally:
            with self._activity_lock:
                self._in_flight -= 1
                self._flights.pop(key, None)
                self.last_activity = self._last_call = time.monotonic()

    @property
    def stopping(self) -> str:
        """Why the service is stopping ("" while it is not)."""
        return self._stopping

    def progress(self, call_id: str) -> dict[str, Any] | None:
        flight = self._flights.get(call_id)
        return None if flight is None else flight.progress

    def cancel_all(self, reason: str) -> int:
        """Cancel every call in flight (each stops at its next stage boundary), and every call that
        arrives from now on; how many were in flight."""
        with self._activity_lock:
            self._stopping = reason
            flights = list(self._flights.values())
        for f in flights:
            f.allowance.cancel(reason)
        if flights:
            log.warning("cancelling %d call(s) in flight: %s", len(flights), reason)
        return len(flights)

    def _dispatch(self, op: Op[Any, Any], req: Any) -> Any:
        """The operation's handler: the service's own for what it adds to (stats) or owns (the
        watcher), else the use case of its name."""
        if op is STATS:
            return {**self.use_cases.stats(), "service": self.describe()}
        if op is WATCH:
            req = req.check(self.settings.server)
            self.watcher.add(req.paths, allowed_roots=req.allowed_roots)
            return self.watcher.describe()
        return self.use_cases.run(op, req)

    def _check_agreement(self, theirs: Any) -> None:
        """Every client of one index gets what the same settings give: one that differs in anything
        that changes results or access is refused, with the keys named."""
        if not isinstance(theirs, dict):
            raise BadInput("settings: must be a JSON object")
        ours = {k: self.shared.get(k) for k in theirs}  # the keys this client relies on
        if theirs == ours:
            return
        differ = settings_differences(ours, theirs)
        raise SettingsMismatch(
            f"the index service for {self.settings.qdrant.path} runs with other settings than this client's: "
            + "; ".join(differ[:8])
            + (f"; and {len(differ) - 8} more" if len(differ) > 8 else "")
            + ". It restarts with yours only when no other client is connected; use the config the running service was "
            "started with, or stop it (`ragate service --stop`) so the next call starts it with yours"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "idle_timeout_s": self.settings.service.idle_timeout_s,
            "settings_fingerprint": settings_fingerprint(self.shared),
            "self_calibration": self.auto_calibration.describe(),
            "in_flight": sorted(f.name for f in list(self._flights.values())),
            **self.watcher.describe(),
        }

    def close(self) -> None:
        self.auto_calibration.stop()
        self.watcher.close()
        self.use_cases.close()


def asgi_app(service: IndexService, stop: Callable[[], None]) -> Starlette:
    """POST /call/<use case> with {"request": ..., "deadline_s": ..., "settings": ..., "limits": ...}; GET /ping[?client=ID] (a
    heartbeat; with an id, from a connected client); POST /stop (exit once the calls in flight are
    answered); POST /replace[?client=ID] (exit for a client with other settings, if no other
    client is connected and no call is in flight; 409 otherwise)."""

    async def ping(request: Request) -> JSONResponse:
        every = request.query_params.get("every")
        try:
            every_s = float(every) if every else None
        except ValueError:
            every_s = None
        every_s = every_s if every_s is not None and 0 < every_s < float("inf") else None
        service.touch(_client(request), every_s, gone=request.query_params.get("gone") == "1")
        return JSONResponse({"ok": True, "pid": os.getpid(), "models_ready": service.models.ready})

    async def call(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        try:
            body = _parse(await request.body())
            flight = InFlight(name)
            op = OPS.get(name)
            # Heavy calls wait for a reranker slot in their thread: their own threads, so a crowd of
            # them never leaves the other calls (stats, feedback, indexing) waiting for one.
            threads = service.heavy_threads if op is not None and op.heavy else None
            result = await _until_disconnected(
                request, flight.allowance, lambda: service.call(name, body, flight), threads, lambda: service.stopping
            )
            return JSONResponse({"result": result, "progress": flight.progress})
        except ClientDisconnect:  # the caller went away mid-request: nothing to answer, nothing to log at length
            log.info("call %s: the client disconnected before its request was whole", name)
            return JSONResponse({"error": {"kind": "bad_input", "message": "request body incomplete"}}, status_code=400)
        except ValidationError as e:
            return JSONResponse({"error": {"kind": "bad_input", "message": validation_message(e)}}, status_code=400)
        except RagateError as e:
            return JSONResponse({"error": e.to_wire()}, status_code=HTTP_STATUS.get(e.kind, 400))
        except Exception as e:  # a bug: the caller gets its name, the log the traceback
            log.exception("call %s failed", name)
            internal = InternalError(f"{type(e).__name__}: {e}")
            return JSONResponse({"error": internal.to_wire()}, status_code=HTTP_STATUS[internal.kind])

    async def progress(request: Request) -> JSONResponse:
        state = service.progress(request.path_params["call_id"])
        return JSONResponse(state if state is not None else {"error": "no such call in flight"}, status_code=200 if state else 404)

    async def replace_route(request: Request) -> JSONResponse:
        why = service.replace(_client(request))
        if why:
            return JSONResponse({"ok": False, "reason": why}, status_code=409)
        stop()
        return JSONResponse({"ok": True, "pid": os.getpid()})

    async def stop_route(request: Request) -> JSONResponse:
        cancelled = service.cancel_all("the index service is stopping (ragate service --stop)")
        stop()
        return JSONResponse({"ok": True, "pid": os.getpid(), "cancelled": cancelled})

    return Starlette(
        routes=[
            Route("/ping", ping),
            Route("/progress/{call_id}", progress),
            Route("/call/{name}", call, methods=["POST"]),
            Route("/stop", stop_route, methods=["POST"]),
            Route("/replace", replace_route, methods=["POST"]),
        ]
    )


def _client_limits(sent: Any) -> ServerSettings:
    """The [server] limits a client sent with its call, or a refusal that names them."""
    try:
        return ServerSettings.model_validate(sent)
    except ValidationError as e:
        raise BadInput("limits: " + validation_message(e)) from None


def _client(request: Request) -> str | None:
    """The connected client a request names (?client=ID), if the id is well formed."""
    client = request.query_params.get("client")
    return client if client and CALL_ID.fullmatch(client) else None


async def _until_disconnected(
    request: Request,
    allowance: Allowance,
    work: Callable[[], Any],
    threads: anyio.CapacityLimiter | None,
    stopping: Callable[[], str],
) -> Any:
    """`work` in a thread; if the caller's connection closes meanwhile (it was killed, or it
    cancelled the call), `allowance` is cancelled and the work stops at its next stage boundary.
    Once the service is stopping (`stopping()` says why), work still running ANSWER_ABANDONED_S
    later is left to the exit and answered as cancelled."""
    outcome: list[tuple[bool, Any]] = []

    async def run() -> None:
        try:
            # Abandonable: the answer below must not wait for a thread stuck where no cancellation reaches.
            outcome.append((True, await anyio.to_thread.run_sync(work, limiter=threads, abandon_on_cancel=True)))
        except Exception as e:
            outcome.append((False, e))
        finally:
            tg.cancel_scope.cancel()

    async def abandon_when_stopping() -> None:
        while not (why := stopping()):
            await anyio.sleep(0.25)
        await anyio.sleep(ANSWER_ABANDONED_S)
        if not outcome:
            why += f": the call did not stop within {ANSWER_ABANDONED_S} s and was abandoned; nothing half-written is kept, run it again"
            outcome.append((False, Cancelled(why)))
            tg.cancel_scope.cancel()

    async def watch() -> None:
        try:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            allowance.cancel("the caller went away")
        except anyio.get_cancelled_exc_class():
            if not outcome:  # cancelled from outside (the server shutting down), not by run() finishing
                allowance.cancel("the index service is stopping")
            raise

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        tg.start_soon(watch)
        tg.start_soon(abandon_when_stopping)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _parse(raw: bytes) -> Any:
    """The request body as JSON, refused (not crashed on) when it is not JSON or nests too deep."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadInput("request body nests too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"request body is not JSON ({str(e)[:200]})") from None


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    if isinstance(result, list):
        return [_jsonable(r) for r in result]
    return result


def _bind(path: Path) -> socket.socket:
    """The listening socket, owner-only; a stale file from a dead service is replaced (we hold the lock)."""
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock


def _exit_when_idle(service: IndexService, server: uvicorn.Server, timeout_s: float, stop: threading.Event) -> None:
    """End the server when asked to (POST /stop) or after timeout_s without calls or heartbeats;
    the idle clock starts once the models are loaded, since a slow start is not idleness."""
    loaded = False
    while not server.should_exit:
        if stop.wait(min(1.0, timeout_s / 4)):
            log.warning("index service exiting: asked to stop")
        elif not loaded:
            if service.models.ready:
                loaded = True
                service.touch()
            continue
        elif service.idle_for() > timeout_s:
            log.warning("index service exiting: idle for %gs", timeout_s)
        else:
            continue
        server.should_exit = True


class _CancellingServer(uvicorn.Server):
    """SIGTERM or Ctrl-C cancels the calls in flight, so the service exits within seconds instead of
    computing on for callers that asked it to stop."""

    def __init__(self, config: uvicorn.Config, service: IndexService):
        super().__init__(config)
        self.service = service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.service.cancel_all("the index service was told to stop (a signal)")
        super().handle_exit(sig, frame)


def run_service(settings: Settings, *, watch: list[str] | None = None) -> int:
    """Serve one index until idle; returns at once (0) when another process already serves it."""

    paths = ServicePaths.of(settings)
    paths.index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        lock = acquire_lock(paths.lock)
    except StoreError:  # a client started this one while the running service was still exiting, or at once with another
        try:
            holder = paths.lock.read_text().strip()
        except (OSError, UnicodeDecodeError):
            holder = ""
        log.warning("index service for %s not started: the one with pid %s still holds it", paths.index_dir, holder or "?")
        return 0
    service = IndexService(settings, watch=list(settings.index.watch) + list(watch or []))
    sock = _bind(paths.socket)
    try:
        stop = threading.Event()
        # Idle and half-sent connections are closed (a client that never finishes its headers would hold a socket for ever).
        config = uvicorn.Config(
            asgi_app(service, stop=stop.set),
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=header_deadline_protocol(settings.server.header_timeout_s),
            timeout_keep_alive=IDLE_CONNECTION_S,
            timeout_graceful_shutdown=STOP_GRACE_S,
        )
        server = _CancellingServer(config, service)
        service.start()
        threading.Thread(target=_exit_when_idle, args=(service, server, settings.service.idle_timeout_s, stop), daemon=True).start()
        log.warning("index service for %s listening on %s (pid %d)", paths.index_dir, paths.socket, os.getpid())
        server.run(sockets=[sock])
    finally:
        paths.socket.unlink(missing_ok=True)
        closed = threading.Event()

        def close() -> None:
            service.close()
            closed.set()

        closing = threading.Thread(target=close, name="ragate-close", daemon=True)
        closing.start()
        closing.join(STOP_GRACE_S)  # a close waiting on an abandoned call's lock would hold the exit for ever
        # The lock goes with the process, never before the store is closed.
        if closed.is_set():
            lock.close()
        else:
            log.warning("index service exiting before its store closed (calls still running, or the close failed: see above)")
    return 0 if closed.is_set() else 1
