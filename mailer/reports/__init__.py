"""Delivery reports: what happened to a send, and to a list over its recent sends.

The web app and the CLI both call ``send_report``, ``recipients_for``,
``list_report`` and ``timeline``; rendering (table, JSON, CSV) lives in
``mailer.reports.render``, a send's activity chart in ``mailer.reports.activity``
and each list's health (the lists page) in ``mailer.reports.health``. The SQL
is in ``mailer.db.reports``.

Rates follow SES's own arithmetic: bounces, complaints, deliveries and
unsubscribes are per message *sent*; unique opens and clicks per message
*delivered*; failed, skipped and uncertain per recipient. SES reviews an
account whose bounce rate passes 10% or complaint rate 0.5%; the report
warns well before, at 5% and 0.1%.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mailer.config import GuardrailSettings
from mailer.db import Database, subscribers
from mailer.db import reports as store
from mailer.db.models import Send
from mailer.errors import Hint, NotFoundError, Problem, ValidationError
from mailer.events.engagement import Engagement, send_engagement

BOUNCE_WARNING = 0.05
COMPLAINT_WARNING = 0.001

# (count name, label, denominator)
ROWS: list[tuple[str, str, str]] = [
    ("recipients", "Recipients", ""),
    ("sent", "Sent", "recipients"),
    ("delivered", "Delivered", "sent"),
    ("hard_bounced", "Hard bounces", "sent"),
    ("soft_bounced", "Soft bounces", "sent"),
    ("complained", "Complaints", "sent"),
    ("unsubscribed", "Unsubscribes", "sent"),
    ("opened", "Opened (people, unique)", "delivered"),
    ("clicked", "Clicked (people, unique)", "delivered"),
    ("machine_opened", "Opened by machines", "delivered"),
    ("machine_clicked", "Clicked by machines", "delivered"),
    ("failed", "Failed", "recipients"),
    ("skipped", "Skipped", "recipients"),
    ("uncertain", "Uncertain", "recipients"),
    ("pending", "Not sent yet", "recipients"),
]
STATUSES = sorted(store.CONDITIONS)
# Rows shown only when opens or clicks were tracked.
ENGAGEMENT_ROWS = ("opened", "clicked", "machine_opened", "machine_clicked")


def _rate(n: int, d: int) -> float:
    return n / d if d else 0.0


@dataclass
class SendReport:
    """Counts, rates and warnings for one send."""

    send_id: int
    issue: str
    subject: str
    list_slug: str
    status: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    rates: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    # Opens and clicks per link and story, machines apart (None when nothing was tracked).
    engagement: Engagement | None = None

    @property
    def tracked(self) -> bool:
        """Whether opens or clicks were tracked (any were recorded)."""
        return bool(self.counts.get("opens") or self.counts.get("clicks"))

    @property
    def bounce_rate(self) -> float:
        return self.rates["bounced"]

    @property
    def complaint_rate(self) -> float:
        return self.rates["complained"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "started_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["tracked"] = self.tracked
        data.pop("engagement")
        data.update((self.engagement or Engagement()).to_dict())
        return data


def _rates(counts: dict[str, int]) -> dict[str, float]:
    rates = {
        name: _rate(counts.get(name, 0), counts.get(base, 0)) for name, _, base in ROWS if base
    }
    rates["bounced"] = _rate(counts.get("bounced", 0), counts.get("sent", 0))
    return rates


def _warnings(counts: dict[str, int], rates: dict[str, float]) -> list[str]:
    out = []
    if rates["bounced"] > BOUNCE_WARNING:
        out.append(
            f"bounce rate {rates['bounced']:.1%} is above {BOUNCE_WARNING:.0%}: "
            "SES reviews accounts past 5% and may pause sending past 10%; clean the list before "
            "the next send"
        )
    if rates["complained"] > COMPLAINT_WARNING:
        out.append(
            f"complaint rate {rates['complained']:.2%} is above {COMPLAINT_WARNING:.1%}: "
            "SES reviews accounts past 0.1% and Gmail throttles past 0.3%; check consent and the "
            "unsubscribe link"
        )
    if counts.get("uncertain"):
        out.append(
            f"{counts['uncertain']} recipients are uncertain (a worker died mid-send): each "
            "may or may not have received it"
        )
    return out


def send_report(
    db: Database, send_id: int, guardrails: GuardrailSettings | None = None
) -> SendReport:
    """The report of one send; ``NotFoundError`` if there is no such send.

    Opens and clicks are classified (``mailer.events.engagement``): the
    opened and clicked counts, and their rates, are people's; machines are
    counted apart, by the scanner thresholds of ``guardrails`` (the
    ``[guardrails]`` settings).
    """
    with db.session() as session:
        found = store.send_with_list(session, send_id)
        if found is None:
            raise NotFoundError(f"no send {send_id}", hint=Hint.LIST_SENDS)
        send, lst = found
        counts = store.send_counts(session, send_id)
    engagement = None
    if counts.get("opens") or counts.get("clicks"):
        engagement = send_engagement(db, send_id, guardrails)
    return _report(send, lst.slug, counts, engagement)


def _classified(engagement: Engagement | None) -> Engagement | None:
    # Counters with no stored events behind them (rows written by hand, events
    # purged) cannot be classified: the row counts stand, unsplit.
    return engagement if engagement is not None and engagement.events else None


def _people(counts: dict[str, int], engagement: Engagement | None) -> dict[str, int]:
    """Counts with opened and clicked made people's, machines apart (when classified)."""
    out = dict(counts)
    if engagement is not None:
        out["opened"] = engagement.opens
        out["clicked"] = engagement.clicks
        out["machine_opened"] = engagement.machine_opens
        out["machine_clicked"] = engagement.machine_clicks
    return out


def _report(
    send: Send, list_slug: str, counts: dict[str, int], engagement: Engagement | None = None
) -> SendReport:
    engagement = _classified(engagement)
    counts = _people(counts, engagement)
    rates = _rates(counts)
    return SendReport(
        send_id=send.id,
        issue=send.issue_slug,
        subject=send.subject,
        list_slug=list_slug,
        status=send.status,
        created_at=send.created_at,
        started_at=send.started_at,
        finished_at=send.finished_at,
        counts=counts,
        rates=rates,
        warnings=_warnings(counts, rates),
        engagement=engagement,
    )


def recipients_for(
    db: Database,
    send_id: int,
    status: str | None,
    limit: int | None = None,
    *,
    after_id: int | None = None,
) -> list[dict[str, Any]]:
    """The recipients behind one number of the report (``status`` in ``STATUSES``).

    ``status`` None (or "recipients", the report's first number) is everyone;
    ``after_id`` pages by recipient id (see ``recipients_matching``).
    """
    key = (status or "recipients").replace("-", "_")
    aliases = {"bounces": "bounced", "hard": "hard_bounced", "soft": "soft_bounced"}
    key = aliases.get(key, key)
    if key != "recipients" and key not in store.CONDITIONS:
        raise ValidationError(
            [
                Problem(
                    "--recipients", "", f"unknown status {status!r}; one of: {', '.join(STATUSES)}"
                )
            ]
        )
    with db.session() as session:
        if store.send_with_list(session, send_id) is None:
            raise NotFoundError(f"no send {send_id}")
        return store.recipients_matching(
            session, send_id, None if key == "recipients" else key, limit, after_id=after_id
        )


@dataclass
class ListReport:
    """A list's health: its subscriptions now, and each recent send's report."""

    slug: str
    name: str
    subscriptions: dict[str, int]
    sends: list[SendReport]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "subscriptions": self.subscriptions,
            "sends": [s.to_dict() for s in self.sends],
            "warnings": self.warnings,
        }


def list_report(
    db: Database,
    slug: str,
    limit: int = 10,
    *,
    engagement: bool = True,
    guardrails: GuardrailSettings | None = None,
) -> ListReport:
    """Health of list ``slug`` across its ``limit`` latest sends (one query for all of them,
    plus, with ``engagement``, one pass per send with tracked opens or clicks to set
    machines apart; without, opened and clicked are the raw counts)."""
    with db.session() as session:
        lst = subscribers.get_list(session, slug)
        subs = subscribers.count_subscriptions(session, lst.id)
        sends = store.recent_sends(session, lst.id, limit)
        counts = store.counts_by_send(session, [s.id for s in sends])
    empty = {name: 0 for name in ["recipients", "opens", "clicks", *store.CONDITIONS]}
    reports = []
    for send in sends:
        mine = counts.get(send.id) or dict(empty)
        tracked = engagement and (mine.get("opens") or mine.get("clicks"))
        reports.append(
            _report(
                send,
                lst.slug,
                mine,
                send_engagement(db, send.id, guardrails) if tracked else None,
            )
        )
    warnings = [f"send {r.send_id} ({r.issue}): {w}" for r in reports for w in r.warnings]
    return ListReport(lst.slug, lst.name, subs, reports, warnings)


TIMELINE_KINDS = ("delivery", "bounce", "complaint", "open", "click")


def timeline(db: Database, send_id: int, unit: str = "hour") -> list[dict[str, Any]]:
    """Events per ``unit`` (hour or day) for a chart: ``[{"at": ..., "delivery": n, ...}]``."""
    if unit not in ("hour", "day"):
        raise ValueError("unit must be 'hour' or 'day'")
    with db.session() as session:
        rows = store.event_timeline(session, send_id, TIMELINE_KINDS, unit)
    series: dict[datetime, dict[str, Any]] = {}
    for when, kind, n in rows:
        point = series.setdefault(when, {"at": when, **{k: 0 for k in TIMELINE_KINDS}})
        point[kind] = n
    return [series[k] for k in sorted(series)]
