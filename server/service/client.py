"""The client side of the index service: the same use-case methods as `Pipeline`, run by the one
service process that owns the index (started here when none runs).

A read (search, answer, rerank, stats) whose service dies mid-call is retried once against a
fresh service; a write reports the failure instead, and is safe to repeat because indexing is
idempotent."""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from ragate.retrieval.deadline import Allowance
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.deadline import current as current_allowance
from ragate.retrieval.errors import Cancelled, RagateError, ServiceUnavailable, SettingsMismatch
from ragate.retrieval.progress import current_reporter, reporting_to, terminal_bar
from ragate.server.agreement import shared_settings
from ragate.server.config import Settings
from ragate.server.ops import Op, Q, R
from ragate.server.recent_calls import CALLER
from ragate.server.service.paths import ServicePaths

log = logging.getLogger(__name__)


@functools.cache
def _adapter(response: Any) -> TypeAdapter[Any]:
    """What reads an operation's JSON back into its response type, built once per type."""
    return TypeAdapter(response)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


HEARTBEAT_MAX_S = 30.0  # a connected client beats at least this often; the service counts on it


def heartbeat_every(settings: Settings) -> float:
    """How often a connected client beats: often enough for the service's idle timeout too."""
    return min(HEARTBEAT_MAX_S, settings.service.idle_timeout_s / 3)


class ServiceClient:
    """Use cases of one index, answered by its service. `timeout_s` bounds each call (None: wait)."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        unchecked: tuple[str, ...] = (),
    ):
        self.settings = settings
        self.paths = ServicePaths.of(settings)
        self._config_path = config_path
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s  # the service stops a call's work after this long
        self._shared = shared_settings(settings, unchecked=unchecked)  # sent with every call: the service refuses a client that disagrees
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()
        self._client_id = uuid.uuid4().hex  # how the service tells this client's heartbeats from others'

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        timeout: float | None,
        on_connect: Callable[[socket.socket], None] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        conn = _UnixConnection(str(self.paths.socket), timeout)
        try:
            if on_connect is not None:
                conn.connect()
                on_connect(conn.sock)
            payload = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read() or b"{}"
            try:
                return resp.status, json.loads(raw)
            except ValueError:  # cut short by a service stopping mid-answer: as a dropped connection
                raise http.client.RemoteDisconnected("the index service's answer was cut short") from None
        finally:
            conn.close()

    def _spawn(self) -> None:
        cmd = [sys.executable, "-m", "ragate.server.cli.main"]
        if self._config_path:
            cmd += ["--config", self._config_path]
        self.paths.index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Its first start on a machine is silent for a while otherwise: say what it is doing and where it writes.
        log.warning(
            "starting the index service for %s (its log: %s); on a first start on a machine it exports the models "
            'and measures their CPU engines, in the background unless [reranker]/[embedder] measure = "at_load"',
            self.paths.index_dir,
            self.paths.log,
        )
        fd = os.open(self.paths.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # queries appear in it
        with open(fd, "ab") as logfile:
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

    def _call(self, name: str, *, request: BaseModel | None = None, read: bool, progress: bool = False) -> Any:
        """One use case in the service; `progress` draws the bar the service reports for it meanwhile
        (a reporter already in force, an MCP tool's, gets those counts instead)."""
        if progress and current_reporter() is None:
            with terminal_bar() as bar, reporting_to(bar):
                return self._call(name, request=request, read=read)
        call_id = uuid.uuid4().hex
        body = {
            "request": request.model_dump(mode="json") if request is not None else None,
            "deadline_s": self._deadline_s,
            "settings": self._shared,
            "limits": self.settings.server.model_dump(mode="json"),  # this client's own, which the service applies to the call
            "call_id": call_id,
            "caller": CALLER.get(),  # whose call, for the recent-calls list
        }
        data = self._send(name, call_id, body, read=read)
        if data.get("error", {}).get("kind") == SettingsMismatch.kind:
            self._take_over(data["error"]["message"])
            data = self._send(name, call_id, body, read=read)
        if "error" in data:
            err = data["error"]
            raise RagateError.from_wire(err["kind"], err["message"])
        report, final = current_reporter(), data.get("progress")
        if report is not None and final and final.get("desc"):  # the last count, which a poll may have missed
            report(final["desc"], final["done"], final["total"])
        return data["result"]

    def _send(self, name: str, call_id: str, body: dict[str, Any], *, read: bool) -> dict[str, Any]:
        """POST one call, starting the service if none runs, and restarting it once for a read it
        died during; the service's answer (a result or an error)."""
        allowance = current_allowance()
        # No ping first: a call that finds no service sent nothing, so it starts one and sends again.
        retried_read = False
        for _ in range(3):
            try:
                status, data = self._followed(name, call_id, body, allowance)
                break
            except (FileNotFoundError, ConnectionRefusedError):  # none running, or a stale socket from a dead one
                self.ensure_started()
            except (http.client.HTTPException, OSError) as e:
                if allowance is not None and allowance.cancelled.is_set():
                    raise Cancelled(f"{name} was cancelled ({allowance.reason}); the index service stopped its work") from None
                if not isinstance(e, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
                    raise
                if not read or retried_read:
                    raise ServiceUnavailable(
                        f"the index service stopped during {name}; nothing half-written is kept, run it again"
                    ) from None
                retried_read = True
                log.warning("index service stopped during %s (%s); restarting it and retrying", name, type(e).__name__)
                self.ensure_started()
        else:
            raise ServiceUnavailable(f"the index service for {self.paths.index_dir} kept refusing {name}; see {self.paths.log}")
        return data

    def _take_over(self, mismatch: str) -> None:
        """The service runs with other settings: it restarts with this client's when no other client
        is connected and no call is in flight (a one-off command's settings are not kept waiting
        for), else the mismatch is raised with why it stays."""
        try:
            status, answer = self._request("POST", f"/replace?client={self._client_id}", {}, 5)
        except (FileNotFoundError, ConnectionRefusedError):
            return  # it has just stopped: the next call starts one with these settings
        if status != 200:
            raise SettingsMismatch(f"{mismatch} (it stays: {answer.get('reason', 'refused')})")
        end = time.monotonic() + 30
        while _alive(answer["pid"]) and time.monotonic() < end:
            check_deadline("waiting for the index service to restart")  # within the caller's own time
            time.sleep(0.1)
        log.warning(
            "the index service for %s ran with other settings than this client's and no other client was connected: "
            "it was restarted with this client's (%s)",
            self.paths.index_dir,
            mismatch.split(": ", 1)[-1].split(". ", 1)[0],
        )

    def _followed(self, name: str, call_id: str, body: dict[str, Any], allowance: Allowance | None) -> tuple[int, dict[str, Any]]:
        """POST the call while following it: the service's progress for it goes to the reporter in
        force, and a cancellation closes the connection, which the service takes as the caller
        gone and stops the work at its next stage boundary."""
        report = current_reporter()
        if report is None and allowance is None:
            return self._request("POST", f"/call/{name}", body, self._timeout_s)
        sockets: list[socket.socket] = []
        done = threading.Event()

        def follow() -> None:
            last = None
            while not done.wait(0.3):
                if allowance is not None and allowance.cancelled.is_set():
                    for sock in sockets:  # every pass: the connection may open after the cancellation
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                    continue
                if report is not None:
                    try:
                        status, state = self._request("GET", f"/progress/{call_id}", None, 5)
                        if status == 200 and state != last:
                            last = state
                            report(state["desc"], state["done"], state["total"])
                    except (OSError, http.client.HTTPException):
                        pass  # starting, restarting or killed mid-reply: the call itself reports failures

        follower = threading.Thread(target=follow, name="ragate-follow", daemon=True)
        follower.start()
        try:
            return self._request("POST", f"/call/{name}", body, self._timeout_s, on_connect=sockets.append)
        finally:
            done.set()
            follower.join()

    # ------------------------------------------------------------------ use cases, as in Pipeline

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the service (started here if none runs) has loaded its models, at most
        `timeout` or [service] start_timeout_s; False if it has not by then."""
        end = time.monotonic() + (timeout if timeout is not None else self.settings.service.start_timeout_s)
        while True:
            try:
                if self._request("GET", "/ping", None, 5)[1].get("models_ready"):
                    return True
            except (FileNotFoundError, ConnectionRefusedError):
                self.ensure_started()
            except (OSError, http.client.HTTPException):
                pass  # starting or restarting: the call itself reports a service that stays down
            if time.monotonic() > end:
                return False
            time.sleep(0.2)

    def run(self, op: Op[Q, R], req: Q | None = None) -> R:
        """One operation in the service: the request checked here first (paths resolved in this
        process, and a refusal without a round trip); a request with `progress` draws the bar the
        service reports for it."""
        body = None if req is None else req.check(self.settings.server)
        data = self._call(op.name, request=body, read=not op.writes, progress=bool(getattr(body, "progress", False)))
        result: R = _adapter(op.response).validate_python(data)
        return result

    # ------------------------------------------------------------------ lifetime

    def keep_alive(self) -> None:
        """Heartbeats while this client lives, the first at once: the service stays up for it, and
        counts it as connected (a client with other settings does not take the service over)."""
        every_s = heartbeat_every(self.settings)

        def beat() -> None:
            while True:
                try:
                    self._request("GET", f"/ping?client={self._client_id}&every={every_s:g}", None, 5)
                except OSError:
                    pass  # down: the next call starts it again
                if self._closed.wait(every_s):
                    return

        self._heartbeat = threading.Thread(target=beat, name="ragate-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_service(self, wait_s: float = 30.0) -> tuple[str, dict[str, Any]]:
        """Stop the running service: its calls in flight are cancelled and it exits. Returns
        ("stopped", its answer) once it has exited, ("stopping", ...) while it still is (already
        asked, or past `wait_s`), or ("none", {}) when no service runs."""
        try:
            _, answer = self._request("POST", "/stop", {}, 5)
        except (FileNotFoundError, ConnectionRefusedError):
            pid = self._lock_holder()  # it no longer accepts connections once it is exiting
            return ("stopping", {"pid": pid}) if pid is not None else ("none", {})
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if not _alive(answer["pid"]):
                return "stopped", answer
            time.sleep(0.1)
        return "stopping", answer

    def _lock_holder(self) -> int | None:
        """The PID written in the service lock, if that process still lives."""
        try:
            pid = int(self.paths.lock.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def close(self) -> None:
        self._closed.set()
        if self._heartbeat is not None:  # a connected client says goodbye, so it no longer holds the service
            with contextlib.suppress(OSError, http.client.HTTPException):
                self._request("GET", f"/ping?client={self._client_id}&gone=1", None, 2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    try:  # an exited child its parent has not reaped yet is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
