"""Security plumbing: headers, CSRF tokens, safe redirects, rate limits.

The login guard (``login_required``) is in ``auth``.

Two kinds of CSRF token: pages behind login carry a random token kept in the
signed session cookie; public subscriber pages set no cookie at all, so their
forms carry a token signed with the site key and bound to the page's own path
(the link token in that path is already the secret that authorises the action).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailer.config import Settings
from mailer.keys import verifying_keys

# The app's own pages: no inline script or style, nothing from elsewhere.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
# An email shown in the preview iframe: its inline styles and remote images may
# load, scripts may not, and only our own pages may frame it.
EMAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: http: data:; "
    "font-src https: data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)

SESSION_USER = "user"
SESSION_STAMP = "stamp"  # the user's credentials when the session began (``users.session_stamp``)
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SecurityHeadersMiddleware:
    """Add security headers to every response that did not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", APP_CSP)
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=()")
                # Pages may name an editor or a subscriber: never cache by default.
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse (413) request bodies over ``limit``, or over ``upload_limit`` on upload paths.

    Forms are small; only the CSV import takes a file, so only its path may
    bring more.
    """

    def __init__(
        self, app: ASGIApp, limit: int, upload_limit: int, upload_path: re.Pattern[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit
        if scope["type"] == "http" and self.upload_path.fullmatch(scope["path"]):
            limit = self.upload_limit
        await RequestBodyLimitMiddleware(self.app, limit)(scope, receive, send)


# --- login ---------------------------------------------------------------------------


def current_user(request: Request) -> str | None:
    user = request.session.get(SESSION_USER)
    return user if isinstance(user, str) else None


def safe_next(target: str | None, default: str = "/admin/") -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.endswith(".json") or (
        "application/json" in accept and "text/html" not in accept
    )


# --- CSRF ------------------------------------------------------------------------------


def session_csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


async def check_session_csrf(request: Request) -> None:
    """Refuse (403) a POST whose CSRF token does not match the session's."""
    expected = request.session.get(SESSION_CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(
            403, "This form has expired or did not come from this site. Reload the page and retry."
        )


def _public_signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(verifying_keys(settings), salt="mailer.csrf")


def public_csrf_token(settings: Settings, path: str) -> str:
    """A cookie-less CSRF token for a form on the public page at ``path``."""
    return str(_public_signer(settings).dumps(path))


async def check_public_csrf(request: Request, settings: Settings, max_age: int = 86400) -> None:
    """Refuse (403) a public form post whose token was not made for this path."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    try:
        path = _public_signer(settings).loads(str(sent or ""), max_age=max_age)
    except BadSignature as exc:
        raise HTTPException(
            403, "This form has expired or did not come from this site. Reload the page and retry."
        ) from exc
    if path != request.url.path:
        raise HTTPException(403, "This form was made for another page. Reload the page and retry.")


# --- rate limiting ------------------------------------------------------------------------


class RateLimiter:
    """A sliding-window counter per key, in memory (one web process).

    Several processes behind a balancer each count on their own: the effective
    limit is then ``limit x processes``, which still bounds abuse.
    """

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Record one hit; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._evict(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return 0.0

    def _evict(self, now: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]
        for k in stale:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:  # still full: forget the oldest half
            for k in list(self._hits)[: self.max_keys // 2]:
                del self._hits[k]


class LoginBackoff:
    """Per account: after ``free`` failed logins in a row, each further attempt waits.

    The wait doubles with each failure (1 s, 2 s, 4 s, … at most ``cap``) and
    a success clears it. Names that do not exist are counted alike, so the
    answer does not tell which exist. In memory, per web process, like
    ``RateLimiter``.
    """

    def __init__(self, free: int = 5, cap: float = 900.0, max_keys: int = 100_000) -> None:
        self.free = free
        self.cap = cap
        self.max_keys = max_keys
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (count, last failure)
        self._lock = threading.Lock()

    def _delay(self, count: int) -> float:
        if count < self.free:
            return 0.0
        return float(min(self.cap, 2 ** (count - self.free)))

    def wait(self, name: str, now: float | None = None) -> float:
        """Seconds before ``name`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.get(name, (0, 0.0))
        return max(0.0, last + self._delay(count) - now) if count else 0.0

    def failed(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if name not in self._failures and len(self._failures) >= self.max_keys:
                # Forget accounts whose wait is long over before anything else.
                idle = [k for k, (n, t) in self._failures.items() if t + self.cap < now]
                for key in idle or list(self._failures)[: self.max_keys // 2]:
                    del self._failures[key]
            count, _ = self._failures.get(name, (0, 0.0))
            self._failures[name] = (count + 1, now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def client_key(request: Request) -> str:
    """Who a rate limit counts: the client's IPv4 address, or its IPv6 /64.

    An IPv6 host usually holds a whole /64 and can change address at will
    within it. uvicorn resolves X-Forwarded-For from trusted proxies.
    """
    host = request.client.host if request.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


class TooManyRequests(HTTPException):
    def __init__(self, retry_after: float, who: str = "from your address") -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(
            429,
            f"Too many attempts {who}. Please wait {seconds} s and try again.",
            headers={"Retry-After": str(seconds)},
        )


def enforce(limiter: RateLimiter, request: Request) -> None:
    """Raise ``TooManyRequests`` (429) when the client is over ``limiter``'s limit."""
    wait = limiter.hit(client_key(request))
    if wait:
        raise TooManyRequests(wait)


def form_str(form: Any, name: str, default: str = "") -> str:
    """A text field of a submitted form (file uploads and absent fields give ``default``)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default
