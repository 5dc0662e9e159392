"""uvicorn's HTTP/1.1 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that sends its headers a byte at a
time (slowloris): each such socket stays open for ever. Here a connection must finish each request's
headers within a deadline, else it is closed. A client that half-closes its side after a whole
request (`shutdown(SHUT_WR)`, as some HTTP clients and `nc -N` do) still gets its reply: the
connection is closed once the reply is sent, not at the client's end of file. A client that closed
both directions (a killed process on the index service's Unix socket: the kernel reports the
hang-up) is gone: its connection is closed, which cancels the call it was waiting for."""

from __future__ import annotations

import asyncio
import errno
import select
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

from ragate.retrieval.errors import ServeError


def _peer_hung_up(transport) -> bool:
    """Whether the peer closed both directions (POLLHUP), not only its sending side."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLHUP)
    return any(events & select.POLLHUP for _, events in poller.poll(0))


def header_deadline_protocol(timeout_s: float) -> type[H11Protocol]:
    """An H11Protocol class (for uvicorn.Config(http=...)) closing connections slow to send headers."""

    class HeaderDeadlineH11(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _served = None  # the request cycle the running deadline was cancelled for
        _half_closed = False  # the client sent end of file with a request in flight

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_slow(self) -> None:
            self._timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self.cycle is not self._served:  # headers of a new request are in
                self._served = self.cycle
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._half_closed:
                self.transport.close()  # nothing more can come: the reply was the last thing to send
            elif not self.transport.is_closing():
                self._arm()  # the next request on this keep-alive connection gets the same deadline

        def eof_received(self) -> bool | None:
            if self.cycle is not None and not self.cycle.response_complete and not _peer_hung_up(self.transport):
                self._half_closed = True
                return True  # keep the transport open for the reply (asyncio closes it otherwise)
            return None

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadlineH11


def check_port_free(host: str, port: int, setting: str) -> None:
    """Refuse, in one line naming the flag, a port another process already listens on (before
    anything starts or a URL is printed, rather than uvicorn's errno after)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"port {port} on {host} is in use by another process: choose another with --port N (or {setting})"
                ) from None
            raise ServeError(f"cannot listen on {host}:{port} ({e.strerror}): check --host and --port") from None
