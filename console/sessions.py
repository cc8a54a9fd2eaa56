"""Sign-in state kept on the server: the browser holds only a random session id.

The API key never goes back to the browser: the `tc_session` cookie (HttpOnly,
SameSite=Lax) names an entry of a dict in this process, which holds the key and,
for the member portal, the member signed in per tenant.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "tc_session"
SESSION_IDLE_S = 8 * 3600
SESSIONS_MAX = 10_000


@dataclass
class Session:
    """One browser's sign-in: its API key and the portal's member per tenant."""

    api_key: str
    members: dict[str, str] = field(default_factory=dict)
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Session id -> Session, with idle expiry and a bound on how many are kept."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, api_key: str) -> str:
        """A new session for `api_key`; returns its id (the cookie's value)."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            if len(self._sessions) >= SESSIONS_MAX:
                oldest = min(self._sessions, key=lambda s: self._sessions[s].seen)
                del self._sessions[oldest]
            self._sessions[sid] = Session(api_key)
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if time.monotonic() - session.seen > SESSION_IDLE_S:
                del self._sessions[sid]
                return None
            session.seen = time.monotonic()
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if now - v.seen > SESSION_IDLE_S]:
            del self._sessions[sid]
