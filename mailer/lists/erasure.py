"""What forgetting a person erases beyond their subscriber row.

The address also sits in every outbox row of a send they were in, in the
feedback events about them (the raw SES payload, bounce diagnostics) and in
mail queued to them. Forgetting blanks or drops all of it, and keeps what the
reports count: each outbox row's outcome and each event's kind and time. An
open keeps its network (``17.58.7.0``, not ``17.58.7.12``): that is all the
report needs to tell Apple's privacy proxy from a reader.
"""

from __future__ import annotations

import ipaddress
import re

from sqlalchemy.orm import Session

from mailer.db import events, mailqueue, outbox
from mailer.db.outbox import ERASED


def erase_traces(session: Session, email: str, digest: str, subscriber_id: int | None) -> int:
    """Erase the address outside the subscriber row (call before deleting that
    row, while its outbox rows still point at it); returns how many rows held it."""
    address = email.strip().lower()
    rows = outbox.rows_of_person(session, subscriber_id, digest)
    about = events.feedback_about(session, address, rows)
    rewritten = [
        (event.id, scrub(event.detail, address), network_of(event.ip_address))
        for event in about
        if event.matched
    ]
    # An orphan counts nowhere and waits to be matched by its payload, which
    # is the very thing erased: it goes.
    dropped = [event.id for event in about if not event.matched]
    events.erase_feedback(session, rewritten, dropped)
    blanked = outbox.erase_addresses(session, rows)
    return blanked + len(about) + mailqueue.erase_address(session, address)


def scrub(text: str, address: str) -> str:
    """``text`` with every spelling of ``address`` (any case) replaced."""
    return re.sub(re.escape(address), ERASED, text, flags=re.IGNORECASE) if text else text


def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of ``ip``, or None if it is not an address."""
    if not ip:
        return None
    try:
        found = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if found.version == 4 else 48
    return str(ipaddress.ip_network(f"{found}/{prefix}", strict=False).network_address)
