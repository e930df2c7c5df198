"""What feedback does: match, store once, then act on lists and outbox rows.

The policy (defaults in ``[events]``):

- permanent bounce: the address is suppressed everywhere at once;
- transient (or undetermined) bounce: suppressed once it has bounced
  ``soft_bounce_limit`` times within ``soft_bounce_days`` of its latest bounce,
  so an old soft bounce stops counting;
- complaint: unsubscribed from every list and suppressed;
- delivery, open, click: counted on the recipient's outbox row (reports add
  the rows up per send);
- reject and rendering failure: the outbox row is marked failed with the reason;
- subscription (SES list management): unsubscribe from every list, or from the
  send's list when only a topic was opted out of.

Address-level effects (suppress, unsubscribe) apply even to events that match
no outbox row: the address bounced or complained whoever sent the message.
Each event acts once: only rows newly inserted (by dedupe key) have effects,
and outbox timestamps keep their earliest value, so duplicates and reordering
(a Delivery after a Bounce) change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import events as store
from mailer.db import subscribers
from mailer.errors import ParseError
from mailer.events.parse import FeedbackEvent, Kind, parse_ses
from mailer.lists.addresses import email_hash
from mailer.lists.erasure import network_of, scrub
from mailer.status import SuppressionReason


@dataclass(frozen=True)
class Policy:
    """The configurable part of the policy."""

    soft_bounce_limit: int = 3
    soft_bounce_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.events.soft_bounce_limit, settings.events.soft_bounce_days)


@dataclass
class IngestResult:
    """What one batch did."""

    received: int = 0
    new: int = 0
    duplicates: int = 0
    matched: int = 0
    orphans: int = 0
    suppressed: int = 0
    unsubscribed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: IngestResult) -> None:
        for name in ("received", "new", "duplicates", "matched", "orphans"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.suppressed += other.suppressed
        self.unsubscribed += other.unsubscribed
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    def summary(self) -> str:
        return (
            f"{self.received} events: {self.new} new, {self.duplicates} duplicates, "
            f"{self.matched} matched, {self.orphans} orphans; "
            f"{self.suppressed} suppressed, {self.unsubscribed} unsubscriptions"
        )


def _match(session: Session, events: Sequence[FeedbackEvent]) -> dict[str, store.RecipientRef]:
    """Dedupe key -> outbox row: by SES MessageId, else by send-id header + address."""
    by_pmid = store.recipients_by_provider_id(
        session, [e.ses_message_id for e in events if e.ses_message_id]
    )
    out: dict[str, store.RecipientRef] = {}
    fallback: list[FeedbackEvent] = []
    for ev in events:
        rows = by_pmid.get(ev.ses_message_id or "", [])
        hit = next((r for r in rows if r.email.strip().lower() == ev.email), None)
        # One message, one row: its own, even when the address on it was
        # erased on request (the report still counts what befell it).
        if hit is None and len(rows) == 1 and (ev.email is None or rows[0].email == ""):
            hit = rows[0]
        if hit is not None:
            out[ev.dedupe_key] = hit
        elif ev.send_id is not None and ev.email:
            fallback.append(ev)
    if fallback:
        pairs = store.recipients_by_send_and_email(
            session, [(e.send_id, e.email) for e in fallback if e.send_id and e.email]
        )
        for ev in fallback:
            ref = pairs.get((ev.send_id or 0, ev.email or ""))
            if ref is not None:
                out[ev.dedupe_key] = ref
    return out


def process(
    session: Session, events: Sequence[FeedbackEvent], policy: Policy | None = None
) -> IngestResult:
    """Store ``events`` once each and apply the policy to the new ones. Does not commit."""
    policy = policy or Policy()
    result = IngestResult(received=len(events))
    unique: dict[str, FeedbackEvent] = {}
    for ev in events:
        unique.setdefault(ev.dedupe_key, ev)
    # Known keys are skipped before matching so replays stay cheap.
    known = store.existing_keys(session, unique)
    fresh = [ev for key, ev in unique.items() if key not in known]
    matches = _match(session, fresh)
    erased = _about_forgotten(session, fresh, matches)
    # Their details may quote the address (a bounce's diagnostic), and reach
    # the outbox row too (a reject's reason).
    fresh = [
        replace(ev, detail=scrub(ev.detail, ev.email or "")) if ev.dedupe_key in erased else ev
        for ev in fresh
    ]
    now = utcnow()
    rows = []
    for ev in fresh:
        ref = matches.get(ev.dedupe_key)
        row = {
            "dedupe_key": ev.dedupe_key,
            "source": ev.source[:20],
            "event_type": ev.kind,
            "ses_message_id": (ev.ses_message_id or None) and ev.ses_message_id[:250],
            "email": ev.email[:320] if ev.email else None,
            "send_id": ref.send_id if ref else None,
            "recipient_id": ref.id if ref else None,
            "bounce_type": ev.bounce_type,
            "detail": ev.detail,
            "occurred_at": ev.occurred_at,
            "received_at": now,
            "orphan": ref is None,
            "payload": ev.payload,
            "link": ev.link,
            "link_tags": ev.link_tags,
            "user_agent": ev.user_agent,
            "ip_address": ev.ip_address,
        }
        if ev.dedupe_key in erased:
            row.update(email=None, payload="", ip_address=network_of(ev.ip_address))
        rows.append(row)
    inserted = store.insert_events(session, rows)
    new = [ev for ev in fresh if ev.dedupe_key in inserted]
    result.new = len(new)
    result.duplicates = result.received - result.new
    for ev in new:
        result.by_kind[ev.kind] = result.by_kind.get(ev.kind, 0) + 1
        if ev.dedupe_key in matches:
            result.matched += 1
        else:
            result.orphans += 1
    _apply(session, new, matches, policy, result)
    return result


def _about_forgotten(
    session: Session, events: Sequence[FeedbackEvent], matches: dict[str, store.RecipientRef]
) -> set[str]:
    """Dedupe keys of the events about a person who was forgotten: feedback that
    comes after the erasure is stored as erased, not with the address again."""
    hashes = {ev.dedupe_key: email_hash(ev.email) for ev in events if ev.email}
    suppressed = subscribers.suppressed_hashes(session, sorted(set(hashes.values())))
    forgotten = {h for h, reason in suppressed.items() if reason == SuppressionReason.FORGOTTEN}
    return {
        ev.dedupe_key
        for ev in events
        if hashes.get(ev.dedupe_key) in forgotten
        or (ev.dedupe_key in matches and matches[ev.dedupe_key].email == "")
    }


def _apply(
    session: Session,
    events: Sequence[FeedbackEvent],
    matches: dict[str, store.RecipientRef],
    policy: Policy,
    result: IngestResult,
    *,
    address_level: bool = True,
) -> None:
    u = store.RecipientUpdates()
    hard: dict[str, str] = {}
    soft: dict[str, FeedbackEvent] = {}
    complaints: dict[str, str] = {}
    unsub_all: set[str] = set()
    unsub_list: dict[str, set[int]] = {}  # email -> send ids whose list to leave
    for ev in events:
        ref = matches.get(ev.dedupe_key)
        rid = ref.id if ref else None
        if ev.kind == Kind.BOUNCE and ev.email:
            hard_bounce = ev.is_hard_bounce
            if rid is not None:
                prev = u.bounced.get(rid)
                kind = "hard" if hard_bounce or (prev and prev[1] == "hard") else "soft"
                when = min(ev.occurred_at, prev[0]) if prev else ev.occurred_at
                u.bounced[rid] = (when, kind)
            if hard_bounce:
                hard.setdefault(ev.email, f"{ev.bounce_type}: {ev.detail}")
            else:
                latest = soft.get(ev.email)
                if latest is None or ev.occurred_at > latest.occurred_at:
                    soft[ev.email] = ev
        elif ev.kind == Kind.COMPLAINT and ev.email:
            if rid is not None:
                u.earliest(u.complained, rid, ev.occurred_at)
            complaints.setdefault(ev.email, ev.detail)
        elif ev.kind == Kind.DELIVERY and rid is not None:
            u.earliest(u.delivered, rid, ev.occurred_at)
            u.earliest(u.confirmed_sent, rid, ev.occurred_at)
        elif ev.kind == Kind.SEND and rid is not None:
            u.earliest(u.confirmed_sent, rid, ev.occurred_at)
        elif ev.kind == Kind.OPEN and rid is not None:
            u.opens[rid] = u.opens.get(rid, 0) + 1
        elif ev.kind == Kind.CLICK and rid is not None:
            u.clicks[rid] = u.clicks.get(rid, 0) + 1
        elif ev.kind in (Kind.REJECT, Kind.RENDERING_FAILURE) and rid is not None:
            u.failed[rid] = ev.detail
        elif ev.kind == Kind.SUBSCRIPTION and ev.email and ev.bounce_type == "OptOut":
            if rid is not None:
                u.earliest(u.unsubscribed, rid, ev.occurred_at)
            if ev.unsubscribe_all:
                unsub_all.add(ev.email)
            elif ref is not None:
                unsub_list.setdefault(ev.email, set()).add(ref.send_id)
    store.apply_recipient_updates(session, u)
    if not address_level:
        hard, soft, complaints, unsub_all = {}, {}, {}, set()

    for email, detail in hard.items():
        result.suppressed += subscribers.suppress(
            session, email, SuppressionReason.HARD_BOUNCE, detail[:1000]
        )
    if soft:
        window = timedelta(days=policy.soft_bounce_days)
        since = min(ev.occurred_at for ev in soft.values()) - window
        times = store.soft_bounce_times(session, soft, since)
        for email, ev in soft.items():
            # Count within the window ending at this address's latest bounce, so a
            # replayed backlog is judged by when the bounces happened.
            recent = [
                t for t in times.get(email, []) if ev.occurred_at - window < t <= ev.occurred_at
            ]
            if len(recent) >= policy.soft_bounce_limit:
                detail = (
                    f"{len(recent)} soft bounces within {policy.soft_bounce_days} days; "
                    f"last: {ev.bounce_type}: {ev.detail}"
                )
                result.suppressed += subscribers.suppress(
                    session, email, SuppressionReason.SOFT_BOUNCE, detail[:1000]
                )
    for email, detail in complaints.items():
        result.unsubscribed += subscribers.unsubscribe_all(
            session, email_hash(email), f"complaint ({detail})"
        )
        result.suppressed += subscribers.suppress(
            session, email, SuppressionReason.COMPLAINT, f"complaint: {detail}"
        )
    for email in unsub_all:
        result.unsubscribed += subscribers.unsubscribe_all(
            session, email_hash(email), "unsubscribed via SES list management"
        )
    if unsub_list:
        list_of = store.list_ids_of_sends(session, {s for ids in unsub_list.values() for s in ids})
        for email, send_ids in unsub_list.items():
            if email in unsub_all:
                continue
            for list_id in {list_of[s] for s in send_ids if s in list_of}:
                result.unsubscribed += subscribers.unsubscribe(
                    session, list_id, email_hash(email), "opted out via SES list management"
                )


def rematch_orphans(session: Session, limit: int = 10_000) -> IngestResult:
    """Match stored orphans again, e.g. events that beat the worker's commit of SES ids.

    Newly matched events get their outbox-row effects (delivered, bounced,
    opens, list opt-outs...); address-level effects (suppression, complaint
    unsubscribes) were applied when they first arrived and are not repeated.
    """
    result = IngestResult()
    orphans = store.orphan_events(session, limit)
    events: list[FeedbackEvent] = []
    ids: dict[str, int] = {}
    for event_id, key, payload, source in orphans:
        try:
            parsed = parse_ses(json.loads(payload), payload, source)
        except (ValueError, RecursionError, ParseError):
            continue
        for ev in parsed:
            if ev.dedupe_key == key:
                events.append(ev)
                ids[key] = event_id
    result.received = len(orphans)
    matches = _match(session, events)
    store.attach_events(session, [(ids[key], ref.id, ref.send_id) for key, ref in matches.items()])
    matched = [ev for ev in events if ev.dedupe_key in matches]
    result.matched = len(matched)
    result.orphans = result.received - result.matched
    for ev in matched:
        result.by_kind[ev.kind] = result.by_kind.get(ev.kind, 0) + 1
    _apply(session, matched, matches, Policy(), result, address_level=False)
    return result
