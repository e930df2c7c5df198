"""A sent send whose readers, Apple's proxy and a link scanner open and click, via real ingest."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mailer.db import Database
from mailer.db.models import Recipient, Send
from mailer.events.parse import parse_ses
from mailer.events.policy import process
from mailer.status import RecipientStatus, SendStatus
from tests.support.paths import PAYLOADS
from tests.support.rows import mailing_list

T0 = datetime(2026, 11, 2, 9, 0, 0)
STORY_1 = "https://news.example.org/issues/42/autumn/"
STORY_2 = "https://example.com/reports/chips"
OTHER = "https://example.com/sponsor"
LINKS = [
    {"url": STORY_1, "tag": "story:1", "story": "Autumn comes early"},
    {"url": STORY_2, "tag": "story:2", "story": "Chips, again"},
    {"url": OTHER, "tag": None, "story": None},
    {"url": "%%unsubscribe_url%%", "tag": "link:unsubscribe", "story": None},
]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


@dataclass
class Story:
    send_id: int
    rids: dict[str, int]


def _template(name: str) -> dict[str, Any]:
    return dict(json.loads((PAYLOADS / name).read_text(encoding="utf-8")))


def _event(
    kind: str,
    who: str,
    send_id: int,
    at: datetime,
    *,
    agent: str,
    ip: str = "198.51.100.7",
    link: str = "",
    tags: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    doc = copy.deepcopy(_template(f"event-{kind}.json"))
    doc["mail"]["messageId"] = f"ses-{who}"
    doc["mail"]["destination"] = [f"{who}@example.org"]
    for header in doc["mail"]["headers"]:
        if header["name"] == "X-Mailer-Send-Id":
            header["value"] = str(send_id)
    body: dict[str, Any] = {
        "ipAddress": ip,
        "timestamp": at.isoformat(timespec="milliseconds") + "Z",
        "userAgent": agent,
    }
    if kind == "click":
        body["link"] = link
        if tags:
            body["linkTags"] = tags
    doc[kind] = body
    return doc


def engaged_send(db: Database) -> Story:
    """Six delivered readers; see each one's comment for what they did."""
    people = ["reader", "apple", "scanned", "curl", "leaver", "gmail"]
    with db.session() as s:
        lst = mailing_list("weekly")
        s.add(lst)
        s.flush()
        send = Send(
            issue_slug="issue-42",
            list_id=lst.id,
            subject="Issue 42",
            status=SendStatus.DONE,
            status_reason="",
            created_at=T0,
            started_at=T0,
            total=len(people),
            links=LINKS,
        )
        s.add(send)
        s.flush()
        rows = {
            who: Recipient(
                send_id=send.id,
                email=f"{who}@example.org",
                status=RecipientStatus.SENT,
                attempts=1,
                error="",
                sent_at=T0,
                delivered_at=T0 + timedelta(seconds=2),
                provider_message_id=f"ses-{who}",
            )
            for who in people
        }
        s.add_all(rows.values())
        s.flush()
        rids = {who: r.id for who, r in rows.items()}
        send_id = send.id
    d = T0 + timedelta(seconds=2)
    later = d + timedelta(hours=1)
    docs = [
        # A reader: opens on Firefox, reads story 1 ten minutes in.
        _event("open", "reader", send_id, d + timedelta(minutes=9), agent=FIREFOX),
        _event(
            "click",
            "reader",
            send_id,
            d + timedelta(minutes=10),
            agent=FIREFOX,
            link=STORY_1,
            tags={"story": ["1"]},
        ),
        # Apple Mail Privacy Protection prefetches the images as the message arrives.
        _event(
            "open",
            "apple",
            send_id,
            d + timedelta(seconds=5),
            agent="Mozilla/5.0",
            ip="17.58.101.4",
        ),
        # A security gateway follows every link within seconds; the reader clicks later.
        *[
            _event(
                "click",
                "scanned",
                send_id,
                d + timedelta(seconds=3 + i),
                agent=FIREFOX,
                link=url,
                tags=tags,
            )
            for i, (url, tags) in enumerate(
                [(STORY_1, {"story": ["1"]}), (STORY_2, {"story": ["2"]}), (OTHER, None)]
            )
        ],
        _event(
            "click", "scanned", send_id, later, agent=FIREFOX, link=STORY_2, tags={"story": ["2"]}
        ),
        # A script fetching story 2.
        _event(
            "click",
            "curl",
            send_id,
            later,
            agent="python-requests/2.31.0",
            link=STORY_2,
            tags={"story": ["2"]},
        ),
        # Someone leaving: their own unsubscribe URL, tagged as the unsubscribe link.
        _event(
            "click",
            "leaver",
            send_id,
            later,
            agent=FIREFOX,
            link="https://news.example.org/u/tok3n-of-leaver",
            tags={"link": ["unsubscribe"]},
        ),
        # Gmail fetches images when the reader opens the message: a person.
        _event("open", "gmail", send_id, later, agent=GMAIL_PROXY, ip="66.102.8.1"),
    ]
    with db.session() as s:
        process(s, [ev for doc in docs for ev in parse_ses(doc, source="sqs")])
    return Story(send_id, rids)
