"""The delivery loop: claim a batch, personalise, hand to the transport, record.

The engine talks to two things only: the outbox store (``mailer.db.outbox``)
and a ``Transport``. Crash safety comes from the order of writes: a batch is
marked ``sending`` (under a lease) before any of it reaches the transport, and
its outcomes are recorded after. A worker that dies in between leaves at most
one batch in ``sending``, which then becomes ``uncertain``: never re-sent
unless an operator asks.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from secrets import token_hex
from typing import Protocol

from mailer import links
from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.models import Send
from mailer.deliver.mime import MessageTemplate, Personal, mailto_unsubscribe
from mailer.deliver.tokens import RecipientLinks
from mailer.deliver.transports.base import OutgoingMessage, SendResult, Transport
from mailer.errors import (
    PermanentFailure,
    SendingPaused,
    TemporaryFailure,
    UncertainDelivery,
    UnsafeHeader,
)
from mailer.lists.addresses import ascii_address, email_hash
from mailer.status import SendStatus

ProgressCallback = Callable[[int, dict[str, int], int], None]  # send id, counts, total


class SenderList(Protocol):
    """What a message template needs of its list: a ``MailingList`` row or a ``ListSender``."""

    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def from_name(self) -> str: ...
    @property
    def from_email(self) -> str: ...
    @property
    def reply_to(self) -> str: ...


def list_id_header(settings: Settings, mailing_list: SenderList) -> str:
    """RFC 2919 List-Id: ``"Name" <slug.host>``."""
    host = settings.site.base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    ident = f"<{mailing_list.slug}.{host or 'localhost'}>"
    # A quoted string ends at an unescaped quote: quotes and backslashes go.
    name = mailing_list.name.replace('"', "'").replace("\\", "/")[:100]
    if name.isascii() and name.isprintable() and name:
        return f'"{name}" {ident}'
    return ident


def template_for(
    settings: Settings,
    mailing_list: SenderList,
    *,
    issue_slug: str,
    subject: str,
    html: str,
    text: str,
    send_id: int | None,
    web_url: str | None = None,
) -> MessageTemplate:
    """The message template of a send (or of a test copy when ``send_id`` is None).

    ``web_url`` replaces the issue's public address in "View in browser".
    """
    headers = {"X-Mailer-Send-Id": str(send_id) if send_id is not None else "test"}
    mailto = settings.site.unsubscribe_mailto or mailing_list.from_email
    return MessageTemplate(
        subject=subject,
        from_name=mailing_list.from_name,
        from_email=mailing_list.from_email,
        reply_to=mailing_list.reply_to,
        html_body=html,
        text_body=text,
        list_id=list_id_header(settings, mailing_list),
        unsubscribe_mailto=mailto_unsubscribe(mailto),
        headers=headers,
        static={"web_url": web_url or links.issue_url(settings, issue_slug)},
    )


def personal(
    signer: RecipientLinks,
    *,
    email: str,
    name: str,
    attributes: dict[str, object],
    hashed: str,
    message_id: str = "",
) -> Personal:
    """A recipient's placeholder values, with freshly signed links."""
    unsubscribe, preferences = signer.urls(hashed or email_hash(email))
    return Personal(
        email=email,
        name=name,
        attributes=attributes,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        message_id=message_id,
    )


@dataclass
class _SendContext:
    send: Send
    mailing_list: SenderList
    template: MessageTemplate
    tags: dict[str, str]
    links: RecipientLinks


class Engine:
    """Delivers sends for one worker identity through one transport."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        worker_id: str,
        stop: threading.Event | None = None,
        guard: Callable[[int], str] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.transport = transport
        self.worker_id = worker_id
        self.stop = stop or threading.Event()
        # Asked between batches; a non-empty answer pauses the send with that
        # reason (the circuit breaker, mailer.deliver.guardrails).
        self.guard = guard
        parallel = getattr(transport, "parallel", False)
        threads = settings.delivery.threads
        if transport.name == "smtp":
            threads = max(threads, settings.smtp.connections)
        self._pool = ThreadPoolExecutor(threads, "deliver") if parallel and threads > 1 else None
        self._lease = timedelta(seconds=settings.delivery.lease_seconds)
        batch_size = settings.delivery.batch_size
        # PostgreSQL works in another process: a store thread records and claims
        # while this one renders and sends (see ``_pipeline``), in half batches
        # so that no more than ``batch_size`` recipients are ever in flight
        # (100k to the null transport on two cores: 14,000-16,000 msg/s against
        # 11,000 one batch after another). SQLite works in this process, under
        # the same lock: nothing to overlap.
        pipelined = not database.is_sqlite and batch_size >= 2
        self._claim_size = batch_size // 2 if pipelined else batch_size
        self._store_thread = ThreadPoolExecutor(1, "deliver-store") if pipelined else None
        self._contexts: dict[int, _SendContext] = {}
        # Lists by id that the caller has just read (``mailer send`` froze the
        # send from its list a moment ago): not read again.
        self.lists: dict[int, SenderList] = {}
        self._last_report = 0.0
        # Called between batches: the worker delivers queued confirmations
        # there, so a long send does not keep a subscriber waiting.
        self.between_batches: Callable[[], object] | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._store_thread is not None:
            self._store_thread.shutdown(wait=True)

    # --- one send ---------------------------------------------------------------

    def _context(self, send_id: int) -> _SendContext:
        ctx = self._contexts.get(send_id)
        if ctx is None:
            with self.database.session() as session:
                send = store.get_send(session, send_id)
                mailing_list = self.lists.get(send.list_id) or store.list_of(session, send)
            ctx = _SendContext(
                send,
                mailing_list,
                template_for(
                    self.settings,
                    mailing_list,
                    issue_slug=send.issue_slug,
                    subject=send.subject,
                    html=send.html or "",
                    text=send.text or "",
                    send_id=send.id,
                ),
                {"send_id": str(send.id), "list": mailing_list.slug},
                RecipientLinks(self.settings, mailing_list.slug),
            )
            self._contexts[send_id] = ctx
        return ctx

    def run_send(
        self, send_id: int, *, wait: bool, on_progress: ProgressCallback | None = None
    ) -> int:
        """Deliver claimable recipients of a running send; return how many were handled.

        With ``wait`` it keeps going until the send is done, paused or cancelled
        (sleeping for due retries and other workers' leases); without, it stops
        when nothing is claimable right now.
        """
        handled = 0
        after = 0  # last id claimed: walk forward, then sweep once more from the start
        ctx = self._context(send_id)
        done: store.Outcomes | None = None  # the last batch, recorded with the next claim
        paused = ""
        while True:
            if not paused and self.guard is not None and not self.stop.is_set():
                paused = self.guard(send_id)
                if paused and done is None:
                    done = store.Outcomes()  # nothing to record, but the pause is
            claim_next = not self.stop.is_set() and not paused
            batch, status = self._record_and_claim(ctx, done, paused, after, claim_next)
            if done is not None:
                done = None
                self._report(send_id, on_progress, final=not batch)
                if self.between_batches is not None:
                    self.between_batches()
            if not claim_next or status != SendStatus.RUNNING:
                break
            if not batch and after:
                after = 0  # retries and released rows lie behind the cursor
                continue
            if not batch:
                with self.database.session() as session:
                    if store.finish_if_done(session, send_id, utcnow()):
                        self._report(send_id, on_progress, final=True)
                        break
                    if not wait:
                        break
                    store.expire_leases(session, utcnow())
                    due = store.next_retry_at(session, send_id)
                pause = self.settings.delivery.poll_seconds
                if due is not None:
                    pause = min(pause, max(0.05, (due - utcnow()).total_seconds()))
                self.stop.wait(pause)
                continue
            if self._store_thread is not None:
                done, paused, count, after = self._pipeline(ctx, batch, on_progress)
                handled += count
                continue
            after = batch[-1].id
            done, paused = self._deliver(ctx, batch)
            handled += len(batch) - len(done.released)
        return handled

    def _record_and_claim(
        self,
        ctx: _SendContext,
        done: store.Outcomes | None,
        paused: str,
        after: int,
        claim_next: bool = True,
    ) -> tuple[list[store.Claimed], str]:
        """Record ``done`` (and a pause) and claim the next batch after id ``after``.

        Atomic, and one commit per batch: the recorded rows leave ``sending``
        as the claimed ones enter it. Returns the batch and the send's status
        (``running`` whenever the batch is not empty).
        """
        send_id = ctx.send.id
        now = utcnow()
        if not claim_next:
            with self.database.session() as session:
                if done is not None:
                    store.record(session, done, now, self.worker_id)
                if paused:
                    store.set_status(
                        session,
                        send_id,
                        SendStatus.PAUSED,
                        reason=paused,
                        only_from=[SendStatus.RUNNING],
                    )
                return [], store.get_send(session, send_id).status
        # On PostgreSQL recording and claiming are one statement, committed by
        # itself: a single round trip to the server.
        with self.database.session(autocommit=True) as session:
            batch = store.record_and_claim(
                session,
                done or store.Outcomes(),
                self.worker_id,
                send_id,
                ctx.mailing_list.id,
                self._claim_size,
                now,
                now + self._lease,
                after,
            )
            # The claim is empty when the send stopped running; ask only then.
            status = SendStatus.RUNNING if batch else store.get_send(session, send_id).status
        return batch, status

    def _pipeline(
        self,
        ctx: _SendContext,
        batch: list[store.Claimed],
        on_progress: ProgressCallback | None,
    ) -> tuple[store.Outcomes, str, int, int]:
        """Deliver ``batch`` and the batches behind it, each claimed while the one
        before is delivered (PostgreSQL, where the server works beside us).

        The store thread records batch N-1 and claims N+1 in one transaction
        while this thread delivers N: at any moment at most two half-batches
        are ``sending``, so a crash still leaves at most ``batch_size``
        recipients uncertain. Stops at an empty claim, a pause or a stop, with
        anything claimed but not delivered released. Returns the outcomes still
        to record, the pause reason, how many were handled and the last id.
        """
        assert self._store_thread is not None
        send_id = ctx.send.id
        done: store.Outcomes | None = None
        handled = 0
        while True:
            after = batch[-1].id
            sending = threading.Event()
            ahead = self._store_thread.submit(self._ahead, sending, ctx, done, after)
            # Rendering holds the GIL for milliseconds at a time: let the store
            # thread take it first and send its statement, so that the server
            # works while we render rather than after.
            sending.wait()
            try:
                done, paused = self._deliver(ctx, batch)
                handled += len(batch) - len(done.released)
                if not paused and self.guard is not None and not self.stop.is_set():
                    paused = self.guard(send_id)
            finally:
                # Never leave the store thread writing behind our back.
                batch, status = ahead.result()
            self._report(send_id, on_progress)
            if self.between_batches is not None:
                self.between_batches()
            if paused or self.stop.is_set() or not batch or status != SendStatus.RUNNING:
                # Claimed while the last batch went out, never handed over: back
                # to the queue with the last outcomes.
                done.released.extend(row.id for row in batch)
                return done, paused, handled, after

    def _ahead(
        self,
        sending: threading.Event,
        ctx: _SendContext,
        done: store.Outcomes | None,
        after: int,
    ) -> tuple[list[store.Claimed], str]:
        """The store thread's part of ``_pipeline``: say it has started, then
        record and claim (it keeps the GIL until it waits on the server)."""
        sending.set()
        return self._record_and_claim(ctx, done, "", after)

    def _report(
        self, send_id: int, on_progress: ProgressCallback | None, final: bool = False
    ) -> None:
        # Counting is a scan of the send's rows: at most twice a second.
        if on_progress is None or (not final and time.monotonic() - self._last_report < 0.5):
            return
        self._last_report = time.monotonic()
        with self.database.session() as session:
            counts = store.counts(session, send_id)
            total = store.get_send(session, send_id).total
        on_progress(send_id, counts, total)

    # --- one batch ------------------------------------------------------------------

    def _deliver(self, ctx: _SendContext, batch: list[store.Claimed]) -> tuple[store.Outcomes, str]:
        """Send a claimed batch; return its outcomes and a pause reason (or "")."""
        out = store.Outcomes()
        paused = threading.Event()
        reason: list[str] = []
        pending: list[tuple[store.Claimed, str, Future[SendResult]]] = []
        send_id = ctx.send.id
        nonce = token_hex(8)
        out.message_id_parts = (send_id, nonce, ctx.template.domain)
        for row in batch:
            if row.skip_reason:
                out.skipped.append({"rid": row.id, "err": row.skip_reason})
                continue
            if self.stop.is_set() or paused.is_set():
                out.released.append(row.id)
                continue
            # The store rebuilds this very id when it records the batch.
            message_id = f"<{send_id}.{row.id}.{nonce}@{ctx.template.domain}>"
            try:
                data = ctx.template.render(
                    personal(
                        ctx.links,
                        email=row.email,
                        name=row.name,
                        attributes=row.attributes,
                        hashed=row.email_hash,
                        message_id=message_id,
                    )
                )
            except UnsafeHeader as exc:
                out.failed.append({"rid": row.id, "err": str(exc)})
                continue
            # The envelope takes the same A-label form the To header has.
            recipient = ascii_address(row.email)
            message = OutgoingMessage(ctx.template.from_email, recipient, data, ctx.tags)
            if self._pool is None:
                # Inline (null, outbox): no Future per message, which cost as
                # much as the null transport itself.
                outcome: SendResult | BaseException
                try:
                    outcome = self.transport.send(message)
                except Exception as exc:
                    outcome = exc
                self._settle(row, message_id, outcome, out, paused, reason)
            else:
                pending.append((row, message_id, self._pool.submit(self._guarded, message, paused)))
        for row, message_id, future in pending:
            self._settle(row, message_id, _outcome(future), out, paused, reason)
        return out, (reason[0] if reason else "")

    def _guarded(self, message: OutgoingMessage, paused: threading.Event) -> SendResult:
        # Messages queued behind one that paused the send are not handed over.
        if paused.is_set() or self.stop.is_set():
            raise _NotHanded()
        try:
            return self.transport.send(message)
        except SendingPaused:
            # Set here, not when the outcome is settled in order: threads that
            # finish meanwhile must not take the next message to the provider.
            paused.set()
            raise

    def _settle(
        self,
        row: store.Claimed,
        message_id: str,
        outcome: SendResult | BaseException,
        out: store.Outcomes,
        paused: threading.Event,
        reason: list[str],
    ) -> None:
        if not isinstance(outcome, BaseException):
            if outcome.provider_message_id is None:
                # Its Message-ID follows the batch's pattern: recorded set-based.
                out.sent_plain.append(row.id)
            else:
                out.sent.append(
                    {"rid": row.id, "mid": message_id, "pmid": outcome.provider_message_id}
                )
            return
        try:
            raise outcome
        except _NotHanded:
            out.released.append(row.id)
        except SendingPaused as exc:
            out.released.append(row.id)
            paused.set()
            if not reason:
                reason.append(str(exc))
        except TemporaryFailure as exc:
            attempts = row.attempts + 1
            if attempts >= self.settings.delivery.max_attempts:
                out.failed.append({"rid": row.id, "err": f"gave up after {attempts} tries: {exc}"})
            else:
                delay = self.settings.delivery.retry_seconds * 2 ** (attempts - 1)
                delay = min(delay, 3600) * random.uniform(0.8, 1.2)
                at = utcnow() + timedelta(seconds=delay)
                out.retry.append({"rid": row.id, "err": str(exc), "at": at})
        except PermanentFailure as exc:
            out.failed.append({"rid": row.id, "err": str(exc)})
        except UncertainDelivery as exc:
            out.uncertain.append({"rid": row.id, "err": str(exc)})
        except Exception as exc:
            # A transport failing in a way it did not classify: the message may
            # or may not have left, and a duplicate is worse than a question.
            out.uncertain.append({"rid": row.id, "err": f"{type(exc).__name__}: {exc}"})


class _NotHanded(Exception):
    pass


def _outcome(future: Future[SendResult]) -> SendResult | BaseException:
    """A finished send's result, or the exception it raised."""
    try:
        return future.result()
    except Exception as exc:
        return exc
