"""The database schema, as SQLAlchemy 2 typed mappings.

Alembic migrations in ``mailer/migrations/versions`` create and change these
tables; ``tests/db/test_migrations.py`` fails when the two drift apart.

Conventions: timestamps are naive UTC (``mailer.clock.utcnow``), statuses are short
strings (``mailer.status``) rather than database enums so that SQLite and
PostgreSQL behave the same and adding a status needs no type migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mailer.status import MailStatus, RecipientStatus

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT
# for tables that may pass two billion rows over their life.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime()}  # noqa: RUF012


# --- lists and subscribers ---------------------------------------------------


class MailingList(Base):
    """A list as declared in ``lists/<slug>.toml`` (``mailer lists sync``)."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    from_name: Mapped[str] = mapped_column(String(200))
    from_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    language: Mapped[str] = mapped_column(String(20), default="en")
    template: Mapped[str] = mapped_column(String(100), default="default")
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    postal_address: Mapped[str] = mapped_column(Text, default="")
    # The welcome message new subscribers get: a folder under the lists folder
    # or a template folder (see mailer.lists.welcome); "" for none.
    welcome: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscriber(Base):
    """A person, shared by every list they are on."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # sha256 of the normalised, lower-cased address: the identity of a person
    # (``Foo@x.org`` and ``foo@x.org`` are one subscriber), the conflict target
    # of imports, and the join key with suppressions, which keep only the hash
    # once a person is forgotten.
    email_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    """One subscriber's status on one list."""

    __tablename__ = "subscriptions"
    # Sends read a list's active subscribers in subscriber-id order, a page at
    # a time: this index answers each page with one range scan.
    __table_args__ = (Index("ix_subscriptions_list_status", "list_id", "status", "subscriber_id"),)

    list_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str] = mapped_column(String(200), default="")
    status_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    confirm_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the list's welcome message was queued for this subscription:
    # a welcome goes out once, however often the subscription turns active.
    welcomed_at: Mapped[datetime | None] = mapped_column(default=None)


class Suppression(Base):
    """An address never to be mailed, whatever list it is on."""

    __tablename__ = "suppressions"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)  # None once forgotten
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class HistoryEntry(Base):
    """One thing done to a person (added, edited, unsubscribed, suppressed, forgotten…).

    Keyed by the address hash, not the subscriber id: the line that records a
    forget outlives the subscriber row it describes.
    """

    __tablename__ = "subscriber_history"
    __table_args__ = (Index("ix_subscriber_history_hash", "email_hash", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    list_slug: Mapped[str | None] = mapped_column(String(100), default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]


class User(Base):
    """An editor or operator who can log in to the web app."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # Signed into every session cookie; bumping it (password change, removal,
    # ``mailer users logout-all``) ends every session issued before.
    session_generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


# --- delivery -----------------------------------------------------------------


class Send(Base):
    """One issue sent (or scheduled) to one list, with its frozen content."""

    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issue_slug: Mapped[str] = mapped_column(String(200), index=True)
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Frozen once at start: every recipient gets these, personalised.
    html: Mapped[str | None] = mapped_column(Text, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # When the content above (and the web version in ``send_pages``) was frozen,
    # and what it was made of: subject, stories and file digests, so a page
    # can say what changed in the issue's files since.
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    # Set when an operator resumed the send past its circuit breaker: the
    # breaker then stays quiet for the rest of this send.
    breaker_overridden_at: Mapped[datetime | None] = mapped_column(default=None)
    # The email's links as composed: [{"url", "tag", "story"}], so reports can
    # name the story behind a clicked URL or SES link tag.
    links: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)


class SendPage(Base):
    """One file of a send's published web version (issue page, story pages, assets)."""

    __tablename__ = "send_pages"

    send_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)


class Recipient(Base):
    """The outbox row: one recipient of one send, and everything that befell it."""

    __tablename__ = "send_recipients"
    __table_args__ = (
        UniqueConstraint("send_id", "subscriber_id", name="uq_send_recipients_send_subscriber"),
        # id last: a claim walks queued rows in id order straight off the index.
        Index("ix_send_recipients_send_status", "send_id", "status", "id"),
        # Only the rows in flight (a batch per worker): lease expiry and
        # renewal look across every send, and without it they read the whole
        # table, history included, on every poll.
        Index(
            "ix_send_recipients_in_flight",
            "lease_until",
            sqlite_where=text(f"status = '{RecipientStatus.SENDING}'"),
            postgresql_where=text(f"status = '{RecipientStatus.SENDING}'"),
        ),
        # The rows of deleted (forgotten) subscribers, found by address hash:
        # a person's history, and erasure. Rows still linked to a subscriber
        # never enter it, so sending pays nothing for it.
        Index(
            "ix_send_recipients_unlinked_hash",
            "email_hash",
            sqlite_where=text("subscriber_id IS NULL"),
            postgresql_where=text("subscriber_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    send_id: Mapped[int] = mapped_column(BigId, ForeignKey("sends.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="SET NULL"), default=None, index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    # Frozen with the address: unsubscribe links and suppression checks use it
    # even after the subscriber row is gone.
    email_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default=RecipientStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(250), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(250), default=None, index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Feedback, filled by the events stage.
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    bounced_at: Mapped[datetime | None] = mapped_column(default=None)
    bounce_type: Mapped[str | None] = mapped_column(String(20), default=None)
    complained_at: Mapped[datetime | None] = mapped_column(default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)


class QueuedMail(Base):
    """One message a subscriber's action triggered (confirmation, welcome), or a request.

    Most rows are ready messages, built when enqueued. Rows of kind
    ``subscribe`` are sign-up form posts waiting to be handled by the worker:
    the form only inserts one, whatever the address, so neither its answer nor
    its timing tells whether the address was already subscribed.
    """

    __tablename__ = "mail_queue"
    # The worker's claim: due queued rows in id order.
    __table_args__ = (Index("ix_mail_queue_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    from_email: Mapped[str] = mapped_column(String(320), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a request carries (list slug, name, source); empty for ready messages.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subscriber_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("subscribers.id", ondelete="CASCADE"), default=None, index=True
    )
    list_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("lists.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(20), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(250), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(250), default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


# --- feedback events ------------------------------------------------------------


class Event(Base):
    """One feedback event for one recipient, with its raw payload for audit."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Same SNS MessageId / SES feedbackId + recipient => same key: at-least-once
    # delivery from SNS/SQS must not count twice.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(40), index=True)
    ses_message_id: Mapped[str | None] = mapped_column(String(250), default=None, index=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None, index=True)
    send_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sends.id", ondelete="SET NULL"), default=None, index=True
    )
    recipient_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("send_recipients.id", ondelete="SET NULL"), default=None, index=True
    )
    bounce_type: Mapped[str | None] = mapped_column(String(40), default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[str] = mapped_column(Text)
    # Opens and clicks: what the engagement report groups and classifies by.
    link: Mapped[str | None] = mapped_column(Text, default=None)
    link_tags: Mapped[str | None] = mapped_column(String(500), default=None)  # JSON object
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    ip_address: Mapped[str | None] = mapped_column(String(64), default=None)
