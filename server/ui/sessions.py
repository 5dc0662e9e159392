"""Who may use the web page. A browser cannot send the MCP endpoint's bearer header, so it logs in
once and then carries a session cookie (HttpOnly, SameSite=Strict, path /ui):

- `ragate ui` prints a one-time URL; its code opens one session and is spent.
- Under `serve --http`, the login form takes the same credential as the MCP endpoint: the static
  token ([server] auth = "token") or an OAuth access token ([server] auth = "oauth"), whose scopes
  decide what the session may do and whose expiry ends it.

Every session has its own CSRF token, which each form that changes anything sends back."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from ragate.server.config import Settings
from ragate.server.mcp.oauth import InvalidToken, TokenVerifier

COOKIE = "ragate_ui"
ONE_TIME_S = 600.0  # a printed login URL not opened within this long is spent
MAX_SESSIONS = 256  # the oldest is closed beyond this


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    who: str
    can_write: bool  # may send feedback (an OAuth session needs the write scope)
    expires_at: float

    def csrf_ok(self, given: str | None) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, *, minutes: float):
        self.lifetime_s = minutes * 60
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._codes: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self, *, who: str, can_write: bool, expires_at: float | None = None) -> Session:
        end = time.time() + self.lifetime_s
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), who, can_write, min(end, expires_at or end))
        with self._lock:
            self._sessions[s.id] = s
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return s

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            s = self._sessions.get(session_id)
            if s is not None and s.expires_at <= time.time():
                del self._sessions[session_id]
                return None
            return s

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def one_time_code(self) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = time.time() + ONE_TIME_S
        return code

    def redeem(self, code: str) -> bool:
        """Whether `code` is a live one-time code; it is spent either way."""
        with self._lock:
            expires = self._codes.pop(code, None) if isinstance(code, str) else None
        return expires is not None and expires > time.time()


class Throttle:
    """Events per client address (refused logins, flows started): past `limit` within `window_s`,
    that address is refused at once until the window has moved on, so tokens cannot be guessed at
    speed. The addresses kept are bounded too (the least recent forgotten first)."""

    def __init__(self, limit: int = 20, window_s: float = 60.0, addresses: int = 4096):
        self.limit, self.window_s, self.addresses = limit, window_s, addresses
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> list[float]:
        return [t for t in self._events.get(address, []) if now - t < self.window_s]

    def over(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def count(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            recent = self._recent(address, now)
            self._events.pop(address, None)
            self._events[address] = [*recent, now]  # re-inserted: the most recent last
            while len(self._events) > self.addresses:
                self._events.pop(next(iter(self._events)))


class TokenLogin:
    """The login form's check under `serve --http`: the MCP endpoint's own credential."""

    def __init__(self, settings: Settings, token: str):
        self.oauth = settings.oauth if settings.server.auth == "oauth" else None
        self.verifier = TokenVerifier(settings.oauth) if self.oauth is not None else None
        self._expected = token.encode()

    @property
    def asks_for(self) -> str:
        return "an OAuth access token for this server" if self.oauth is not None else "the server's bearer token"

    def check(self, given: str) -> tuple[str, bool, float | None]:
        """(who, may write, when the credential expires); raises InvalidToken with the reason."""
        if self.verifier is None or self.oauth is None:
            if not given or not hmac.compare_digest(given.encode(), self._expected):
                raise InvalidToken("that is not the server's token")
            return "token holder", True, None
        who = self.verifier.verify(given)
        if self.oauth.read_scope not in who.scopes:
            raise InvalidToken(f"the token lacks the {self.oauth.read_scope} scope")
        return who.client_id or who.subject, self.oauth.write_scope in who.scopes, who.expires_at
