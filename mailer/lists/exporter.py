"""CSV export: ``mailer subscribers export --list SLUG [--status S]``.

Email comes first, then name, status and its history, then one column per
attribute key. ``--status active`` is exactly who the next send to the list
mails: suppressed addresses are left out. Rows are read a page at a time
(keyset pagination), so a million-row export needs little memory; attribute
columns come from a first pass over the same pages.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from mailer.csvcells import cell
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.subscribers import ExportRow
from mailer.errors import MailerError
from mailer.status import SubscriptionStatus as Status

PAGE = 5000
FIXED = ["email", "name", "status", "status_reason", "status_changed_at", "created_at", "source"]


def _pages(db: Database, list_id: int, status: str | None) -> Iterator[list[ExportRow]]:
    after = 0
    while True:
        with db.session() as session:
            rows, after = store.export_page(session, list_id, status, after, PAGE)
        if not rows:
            return
        yield rows


def export_csv(db: Database, list_slug: str, out: IO[str], status: str | None = None) -> int:
    """Write a list's subscribers as CSV to ``out``; return how many rows were written.

    ``status=None`` exports every subscription, with a ``suppressed`` column
    giving the suppression reason where there is one.
    """
    if status is not None and status not in Status.ALL:
        raise MailerError(f"unknown status {status!r} (one of {', '.join(Status.ALL)})")
    with db.session() as session:
        list_id = store.get_list(session, list_slug).id
    keys: dict[str, None] = {}
    for page in _pages(db, list_id, status):
        for row in page:
            for key in row.attributes:
                keys.setdefault(key, None)
    attribute_keys = [k for k in keys if k not in FIXED and k != "suppressed"]
    writer = csv.writer(out)
    writer.writerow([*FIXED, "suppressed", *(cell(k) for k in attribute_keys)])
    written = 0
    for page in _pages(db, list_id, status):
        for r in page:
            writer.writerow(
                [
                    cell(r.email),
                    cell(r.name),
                    r.status,
                    cell(r.status_reason),
                    r.status_changed_at.isoformat(sep=" ", timespec="seconds"),
                    r.created_at.isoformat(sep=" ", timespec="seconds"),
                    cell(r.source),
                    cell(r.suppressed),
                    *(cell(r.attributes.get(k)) for k in attribute_keys),
                ]
            )
            written += 1
    return written
