"""JSON over HTTP to a model server or a hosted API, failing the way a search can live with.

Every call is bounded: a per-attempt timeout (in wall-clock time from connecting to the body's
last byte, not only the gaps between bytes) and a size cap (`max_response_mb`), at most `retries` more attempts (429 honours
Retry-After, 5xx, timeouts and refused connections back off exponentially), all within the
request's deadline. After `breaker_failures` calls in a row fail, the circuit opens and calls fail
at once for `breaker_cooldown_s`; then one call is let through to probe. A failure raises
`ModelUnavailable`, which the precision stage turns into the degraded answer (`reranked: false`).
The API key is sent in a header and scrubbed from every message this module raises or logs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.deadline import remaining
from ragate.retrieval.errors import ModelUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRY_AFTER_S = 30.0  # a server asking for a longer pause is treated as down
RETRIED = (408, 429)  # with 5xx: worth another attempt
REFUSED = (401, 403, 404)  # a wrong key or address: these count toward opening the circuit, a bad request does not


@dataclass(frozen=True)
class RemoteSettings:
    """Where a remote model is and how long to wait for it ([reranker]/[embedder] url, api_key_env, ...)."""

    url: str
    api_key_env: str = ""
    timeout_s: float = 10.0
    retries: int = 2
    concurrency: int = 4
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0
    backoff_s: float = 0.25
    max_response_mb: float = 32.0


class CircuitBreaker:
    """Open after `failures` consecutive failed calls; half-open (one probe) after `cooldown_s`."""

    def __init__(self, failures: int, cooldown_s: float):
        self.failures, self.cooldown_s = failures, cooldown_s
        self._lock = threading.Lock()
        self._failed = 0
        self._opened_at: float | None = None
        self._probing = False

    def allow(self) -> float:
        """0 when a call may go ahead, else the seconds until the circuit lets one through."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            wait = self._opened_at + self.cooldown_s - time.monotonic()
            if wait > 0 or self._probing:
                return max(wait, 0.001)
            self._probing = True
            return 0.0

    def succeeded(self) -> None:
        with self._lock:
            self._failed, self._opened_at, self._probing = 0, None, False

    def release(self) -> None:
        """End a probe without a verdict on the server (the caller gave up first)."""
        with self._lock:
            self._probing = False

    def failed(self) -> None:
        with self._lock:
            self._failed += 1
            self._probing = False
            if self._failed >= self.failures:
                self._opened_at = time.monotonic()

    @property
    def state(self) -> str:
        with self._lock:
            return "closed" if self._opened_at is None else "open"


class JsonClient:
    """POSTs JSON to `settings.url` + path for one remote model; `label` names it in errors."""

    def __init__(self, settings: RemoteSettings, *, label: str, stage: str):
        self.settings, self.label, self.stage = settings, label, stage
        self._key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""
        headers = {"accept": "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key}"
        self._http = BoundedClient(base_url=settings.url.rstrip("/"), headers=headers, timeout=settings.timeout_s)
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s)
        self.calls = 0
        self.failures = 0

    def scrub(self, text: str) -> str:
        """`text` without the API key in it (an echoing server or a proxy's error page may quote it)."""
        return text.replace(self._key, "***") if self._key else text

    def excerpt(self, body: bytes, reason: str) -> str:
        """The start of an error body for a message: scrubbed of the key first, then cut, so no part
        of the key can survive the cut."""
        text = " ".join(body.decode("utf-8", "replace").split())
        return self.scrub(text)[:200] or reason

    def _exchange(self, path: str, body: dict[str, Any], timeout: float) -> tuple[int, httpx.Headers, bytes]:
        return read_bounded(
            self._http, "POST", path, timeout=timeout, max_bytes=int(self.settings.max_response_mb * 1024 * 1024), json=body
        )

    def _fail(self, why: str) -> ModelUnavailable:
        self.failures += 1
        return ModelUnavailable(self.scrub(f"{self.label} at {self.settings.url}: {why}"))

    def post(self, path: str, body: dict[str, Any], parse: Callable[[Any], T]) -> T:
        """`parse` of the JSON answer (a ValueError there means a malformed or partial answer, which
        is retried like a 5xx); ModelUnavailable when the model could not give one in time."""
        self.calls += 1
        wait = self.breaker.allow()
        if wait:
            raise self._fail(f"not called: {self.breaker.failures} calls in a row failed; trying again in {wait:.0f} s")
        try:
            return self._attempts(path, body, parse)
        finally:
            self.breaker.release()  # a probe that ended any other way (the caller's deadline) lets the next one through

    def _attempts(self, path: str, body: dict[str, Any], parse: Callable[[Any], T]) -> T:
        why = ""
        for attempt in range(self.settings.retries + 1):
            check_deadline(self.stage)
            left = remaining()
            timeout = self.settings.timeout_s if left is None else max(0.05, min(self.settings.timeout_s, left))
            pause = self.settings.backoff_s * 2**attempt
            if not self._slots.acquire(timeout=timeout):  # busy here, not failing there: no verdict on the server
                raise self._fail(f"all {self.settings.concurrency} connections busy for {timeout:.1f} s (concurrency)")
            try:
                status, headers, data = self._exchange(path, body, timeout)
            except httpx.TimeoutException:
                why = f"no complete answer within {timeout:.1f} s"
            except _Unusable as e:
                why = f"{e} (max_response_mb {self.settings.max_response_mb:g})"
            except httpx.HTTPError as e:
                why = f"cannot connect ({type(e).__name__})"
            else:
                if status == 200:
                    try:
                        out = parse(json.loads(data))
                    except (ValueError, TypeError, KeyError, RecursionError) as e:
                        why = f"malformed answer: {self.scrub(str(e))[:200]}"
                    else:
                        self.breaker.succeeded()
                        return out
                elif status in RETRIED or status >= 500:
                    why = f"HTTP {status}: {self.excerpt(data, _reason(status))}"
                    pause = max(pause, _retry_after(headers)) if status == 429 else pause
                else:  # the request or the key is wrong; retrying cannot help
                    if status in REFUSED:  # the key or the address: every call will fail alike
                        self.breaker.failed()
                    raise self._fail(f"refused the request: HTTP {status}: {self.excerpt(data, _reason(status))}")
            finally:
                self._slots.release()
            left = remaining()
            if attempt == self.settings.retries or pause > MAX_RETRY_AFTER_S or (left is not None and pause >= left):
                break
            log.warning("%s", self.scrub(f"{self.label}: {why}; retrying in {pause:.2f} s"))
            time.sleep(pause)
        self.breaker.failed()
        raise self._fail(f"{why} (after {attempt + 1} attempts)")

    def describe(self) -> dict[str, Any]:
        """What `stats` shows of the remote model: where it is and how its calls went."""
        return {"url": self.settings.url, "circuit": self.breaker.state, "calls": self.calls, "failures": self.failures}

    def close(self) -> None:
        self._http.close()


class _Unusable(ValueError):
    """An answer that cannot be used whatever it says (too large)."""


class _Attempt:
    """One exchange's deadline, read by the streams of the thread making it (sync httpx does its
    I/O in the caller's thread). Each wait on a socket (connect, TLS, a read, a send) is cut to the
    time left; a wait that loops inside the library on one timeout (a send a slow reader drains a
    little at a time, TLS through an HTTPS proxy) is ended by a watchdog that shuts the socket in
    use at the deadline. What neither reaches: name resolution, and each further address of a name
    that resolves to several (each gets the time left)."""

    _local = threading.local()

    def __init__(self, at: float):
        self.at = at
        self.stream: httpcore.NetworkStream | None = None  # the one this thread waits on now
        self.fired = threading.Event()
        self._watchdog = threading.Timer(max(0.0, at - time.monotonic()), self._shut)
        self._watchdog.daemon = True

    @classmethod
    def current(cls) -> _Attempt | None:
        return getattr(cls._local, "attempt", None)

    @classmethod
    @contextlib.contextmanager
    def until(cls, at: float) -> Iterator[_Attempt]:
        attempt, previous = cls(at), cls.current()
        cls._local.attempt = attempt
        attempt._watchdog.start()
        try:
            yield attempt
        finally:
            attempt.disarm()
            cls._local.attempt = previous

    def disarm(self) -> None:
        """Stop the watchdog (a shut under way ends first), before a connection can go back to the pool."""
        self._watchdog.cancel()
        if self._watchdog.is_alive():
            self._watchdog.join()

    def _shut(self) -> None:
        self.fired.set()
        sock = self.stream.get_extra_info("socket") if self.stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would unwrap the TLS
                # object under a read in progress, which then fails with an error httpx does not map.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    @classmethod
    def cut(cls, timeout: float | None, late: type[Exception], stream: httpcore.NetworkStream | None = None) -> float | None:
        attempt = cls.current()
        if attempt is None:
            return timeout
        attempt.stream = stream or attempt.stream
        left = attempt.at - time.monotonic()
        if left <= 0:
            raise late("answer not complete in time")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _Attempt.cut(timeout, httpcore.ReadTimeout, self))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _Attempt.cut(timeout, httpcore.WriteTimeout, self))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _Attempt.cut(timeout, httpcore.ConnectTimeout, self)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Any = None):
        cut = _Attempt.cut(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, cut, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None):
        cut = _Attempt.cut(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, cut, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class BoundedClient(httpx.Client):
    """An httpx.Client whose connections wait on their sockets at most until the attempt deadline
    read_bounded sets: the only client read_bounded takes. Its transports (the direct one and any
    proxy's) get the deadline-aware network backend before their first connection."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        for transport in [self._transport, *self._mounts.values()]:
            pool = getattr(transport, "_pool", None)
            if pool is not None:
                pool._network_backend = _DeadlineBackend(pool._network_backend)


def read_bounded(
    http: BoundedClient, method: str, url: str, *, timeout: float, max_bytes: int, **kwargs: Any
) -> tuple[int, httpx.Headers, bytes]:
    """One request and its answer within `timeout` of wall-clock time from the start (connecting,
    the headers and the body), and at most `max_bytes`.

    httpx's timeout bounds each wait for bytes, not the answer: a server sending a byte now and then
    would hold the call for as long as it likes. Here each wait is cut to the time left (_Attempt),
    and the body is counted against the cap as it streams in (a declared length over it is refused before
    any is read). Raises httpx.ReadTimeout (or ConnectTimeout) past the deadline, _Unusable (a
    ValueError) over the cap."""
    if not isinstance(http, BoundedClient):
        raise TypeError("read_bounded needs a BoundedClient: a plain client's waits have no deadline")
    with _Attempt.until(time.monotonic() + timeout) as attempt:
        try:
            with http.stream(method, url, timeout=timeout, **kwargs) as r:
                try:
                    declared = r.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise _Unusable(f"answer of {int(declared):,} bytes is over the limit of {max_bytes:,}")
                    data = bytearray()
                    for chunk in r.iter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise _Unusable(f"answer over the limit of {max_bytes:,} bytes")
                finally:
                    attempt.disarm()
        except (httpx.ReadError, httpx.WriteError, httpx.ConnectError, httpx.RemoteProtocolError):
            if not attempt.fired.is_set():
                raise
        # Cut off by the watchdog (a body that ends at the connection's shutdown just looks short).
        if attempt.fired.is_set():
            raise httpx.ReadTimeout("answer not complete in time")
        return r.status_code, r.headers, bytes(data)


def _reason(status: int) -> str:
    return httpx.codes.get_reason_phrase(status) or str(status)


def _retry_after(headers: httpx.Headers) -> float:
    try:
        return max(0.0, float(headers.get("retry-after", "")))
    except ValueError:
        return 1.0  # an HTTP date or garbage: a short pause


def field(body: Any, *path: str | int) -> Any:
    """body[path[0]][path[1]]...; a missing or mistyped part is a malformed answer."""
    for p in path:
        try:
            body = body[p]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"answer lacks {'.'.join(map(str, path))}") from None
    return body
