"""The delivery tests' kit: a recording SMTP handler, a scripted SES, lists, a frozen issue."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db.models import Subscriber, Subscription
from mailer.lists.addresses import email_hash
from mailer.status import SubscriptionStatus
from tests.support.rows import mailing_list

# A small frozen issue, for tests that send without composing.
ISSUE = SimpleNamespace(
    slug="fault-issue",
    subject="Crash-safe news",
    html="<p>Hi %%subscriber.name%%</p><a href='%%unsubscribe_url%%'>unsubscribe</a>",
    text="Hi %%subscriber.name%%\nUnsubscribe: %%unsubscribe_url%%\n",
)


@dataclass
class Recorded:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class RecordingHandler:
    """Records every message; optional faults keyed by recipient address."""

    messages: list[Recorded] = field(default_factory=list)
    # address -> list of replies to give at RCPT, consumed one per attempt
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    drop_every: int = 0  # drop the connection at MAIL FROM every Nth transaction
    # take the message, then drop the connection before replying (outcome unknown)
    lose_reply_for: set[str] = field(default_factory=set)
    transactions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # From message number ``hold_from`` on (1-based; 0: never), take the message
    # but answer only once ``let_go()`` is called: the sender is stuck, exactly
    # there, for as long as a test needs (to kill or stop it at a known point).
    hold_from: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def hold(self, from_message: int) -> None:
        """Hold message number ``from_message`` and every later one."""
        self.released.clear()
        self.held.clear()
        self.hold_from = from_message

    def let_go(self) -> None:
        """Answer the held messages, and hold no more."""
        self.hold_from = 0
        self.released.set()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.transactions += 1
            drop = self.drop_every and self.transactions % self.drop_every == 0
        if drop:
            server.transport.close()
            return "421 gone"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            replies = self.rcpt_replies.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                Recorded(
                    envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)
                )
            )
            hold = 0 < self.hold_from <= len(self.messages)
        if hold:
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.005)
        if self.lose_reply_for.intersection(envelope.rcpt_tos):
            server.transport.close()
        return "250 Message accepted"

    def count_by_recipient(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self.lock:
            for m in self.messages:
                for r in m.recipients:
                    out[r] = out.get(r, 0) + 1
        return out


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler


def use_smtp(settings: Settings, server: SmtpServer, connections: int = 2) -> None:
    settings.delivery.transport = "smtp"
    settings.smtp.host = server.host
    settings.smtp.port = server.port
    settings.smtp.connections = connections
    settings.smtp.timeout = 10


def make_list(
    database: Database,
    slug: str = "weekly",
    count: int = 10,
    *,
    names: list[str] | None = None,
    attributes: list[dict[str, Any]] | None = None,
    status: str = SubscriptionStatus.ACTIVE,
) -> tuple[int, list[str]]:
    """A list with ``count`` subscribers (set-based inserts); returns (list id, emails)."""
    now = utcnow()
    emails = [f"reader{i}@{slug}.example.org" for i in range(count)]
    with database.session() as session:
        ml = mailing_list(
            slug,
            name=f"The {slug.title()} Letter",
            from_name="Example News",
            from_email=f"news@{slug}.example.org",
            reply_to=f"editor@{slug}.example.org",
        )
        session.add(ml)
        session.flush()
        list_id = ml.id
        existing = {
            e for (e,) in session.query(Subscriber.email).filter(Subscriber.email.in_(emails)).all()
        }
        rows = [
            {
                "email": e,
                "email_hash": email_hash(e),
                "name": (names[i] if names else f"Reader {i}"),
                "attributes": (attributes[i] if attributes else {"city": f"City {i}"}),
                "source": "test",
                "created_at": now,
                "updated_at": now,
            }
            for i, e in enumerate(emails)
            if e not in existing
        ]
        if rows:
            session.execute(insert(Subscriber), rows)
        ids = dict(
            session.query(Subscriber.email, Subscriber.id)
            .filter(Subscriber.email.in_(emails))
            .all()
        )
        session.execute(
            insert(Subscription),
            [
                {
                    "list_id": list_id,
                    "subscriber_id": ids[e],
                    "status": status,
                    "status_reason": "",
                    "status_changed_at": now,
                    "created_at": now,
                }
                for e in emails
            ],
        )
    return list_id, emails


@dataclass
class FakeSes:
    """A tiny SES v2 endpoint over real HTTP: scripted errors, then success.

    ``script`` maps a request number (1-based) or a recipient address to an
    error code; ``throttle_first`` answers 429 to that many first requests.
    """

    throttle_first: int = 0
    by_recipient: dict[str, str] = field(default_factory=dict)
    max_send_rate: float = 50.0
    max_24h: float = 1e6
    sent_24h: float = 0.0
    # Request numbers answered 500 *after* the message was accepted.
    fail_after_accept: set[int] = field(default_factory=set)
    # Accept this many, then answer every request that the daily quota is used up.
    daily_quota: int | None = None
    times: list[float] = field(default_factory=list)  # time.monotonic() of each request
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
        with self.lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
            n = len(self.requests)
            to = body.get("Destination", {}).get("ToAddresses", [""])[0]
            if n <= self.throttle_first:
                return (
                    429,
                    "TooManyRequestsException",
                    {"message": "Maximum sending rate exceeded."},
                )
            if self.daily_quota is not None and len(self.accepted) >= self.daily_quota:
                return 400, "LimitExceededException", {"message": "Daily message quota exceeded."}
            code = self.by_recipient.get(to)
            if code:
                return 400, code, {"message": f"{code} for {to}"}
            self.accepted.append(to)
            if n in self.fail_after_accept:
                return 500, "InternalFailure", {"message": "We encountered an internal error."}
            return 200, "", {"MessageId": f"fake-{n:06d}"}


def start_fake_ses(fake: FakeSes) -> Any:
    """Serve ``fake`` on a free port in a thread; returns the server (call shutdown())."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, error: str, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            quota = {
                "MaxSendRate": fake.max_send_rate,
                "Max24HourSend": fake.max_24h,
                "SentLast24Hours": fake.sent_24h,
            }
            self._reply(200, "", {"SendQuota": quota, "SendingEnabled": True})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            self._reply(*fake.answer(body))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def body_of(message: EmailMessage, kind: str) -> str:
    """The decoded ``kind`` body ("plain" or "html") of a parsed message."""
    part = message.get_body((kind,))
    assert part is not None, f"the message has no text/{kind} part"
    return str(part.get_content())
