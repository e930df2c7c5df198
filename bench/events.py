"""Events benchmark: replay 100,000 SES feedback events, then report on the send.

For each database (a temporary SQLite file; a fresh PostgreSQL database,
created and dropped here): a list with 100,000 subscribers and a finished
send to all of them (one outbox row each, with its SES MessageId). Then
100,000 events in the realistic mix below, as full-size SES event-publishing
payloads in JSON-lines files, go through ``mailer events ingest``'s code
path (read, parse, match, dedupe, policy) and are timed; then ``mailer
report SEND`` is timed on the result.

``python -m bench events`` runs it.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import Report
from mailer.events.simulate import mail_object, ses_event

RECIPIENTS = 100_000
EVENTS = 100_000
FILES = 10
EVENTS_TARGET = 2_000.0  # events per second
REPORT_TARGET_S = 1.0
PG_ADMIN_URL = os.environ.get(
    "MAILER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Share of the 100k events per kind (sums to 1).
MIX = {
    "Delivery": 0.60,
    "Send": 0.15,
    "Open": 0.127,
    "Click": 0.05,
    "SoftBounce": 0.03,
    "HardBounce": 0.02,
    "DeliveryDelay": 0.02,
    "Complaint": 0.001,
    "Reject": 0.001,
    "Subscription": 0.001,
}
T0 = datetime(2026, 11, 2, 9, 0, 0)


def message_id(i: int) -> str:
    return f"0102019{i:09x}-{i:08x}-5b6a-4789-9a0b-1c2d3e4f5a61-000000"


def _event(kind: str, i: int, n: int, send_id: int) -> dict[str, Any]:
    mail = mail_object(
        message_id=message_id(i),
        email=f"user{i}@example{i % 97}.org",
        send_id=send_id,
        sent=T0 + timedelta(milliseconds=i * 7),
        sender='"Weekly" <news@example.org>',
    )
    return ses_event(kind, mail, T0 + timedelta(minutes=1 + n % 600, milliseconds=n), n)


def write_events(folder: Path, send_id: int, seed: int = 5) -> list[Path]:
    """Write EVENTS events in FILES JSON-lines files; soft bounces repeat on some addresses."""
    rng = random.Random(seed)
    kinds = [k for k, share in MIX.items() for _ in range(round(share * EVENTS))]
    kinds += ["Delivery"] * (EVENTS - len(kinds))
    rng.shuffle(kinds)
    soft_pool = [rng.randrange(RECIPIENTS) for _ in range(800)]  # ~3-4 bounces each
    # One Send and at most one Delivery per message, as SES reports them.
    once = {
        "Send": iter(rng.sample(range(RECIPIENTS), RECIPIENTS)),
        "Delivery": iter(rng.sample(range(RECIPIENTS), RECIPIENTS)),
    }
    paths = [folder / f"events-{k:02d}.jsonl" for k in range(FILES)]
    handles = [p.open("w", encoding="utf-8") for p in paths]
    try:
        for n, kind in enumerate(kinds):
            if kind in once:
                i = next(once[kind])
            elif kind == "SoftBounce":
                i = rng.choice(soft_pool)
            else:
                i = rng.randrange(RECIPIENTS)
            handles[n % FILES].write(json.dumps(_event(kind, i, n, send_id)) + "\n")
    finally:
        for h in handles:
            h.close()
    return paths


def populate(url: str) -> int:
    """A list of RECIPIENTS subscribers and a done send to all of them; returns the send id."""
    from sqlalchemy import insert

    from mailer.db import Database
    from mailer.db.models import (
        MailingList,
        Recipient,
        Send,
        Subscriber,
        Subscription,
    )
    from mailer.lists.addresses import email_hash

    db = Database(url)
    db.upgrade()
    now = T0
    with db.session() as s:
        lst = MailingList(
            slug="weekly",
            name="Weekly",
            description="",
            from_name="News",
            from_email="news@example.org",
            reply_to="",
            language="en",
            template="default",
            double_opt_in=False,
            postal_address="",
            created_at=now,
            updated_at=now,
        )
        s.add(lst)
        s.flush()
        send = Send(
            issue_slug="issue-42",
            list_id=lst.id,
            subject="Issue 42",
            status="done",
            status_reason="",
            created_at=now,
            started_at=now,
            total=RECIPIENTS,
        )
        s.add(send)
        s.flush()
        list_id, send_id = lst.id, send.id
    step = 10_000
    for start in range(0, RECIPIENTS, step):
        idx = range(start, min(start + step, RECIPIENTS))
        with db.session() as s:
            conn = s.connection()
            emails = {i: f"user{i}@example{i % 97}.org" for i in idx}
            conn.execute(
                insert(Subscriber),
                [
                    {
                        "id": i + 1,
                        "email": e,
                        "email_hash": email_hash(e),
                        "name": "",
                        "attributes": {},
                        "source": "bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, e in emails.items()
                ],
            )
            conn.execute(
                insert(Subscription),
                [
                    {
                        "list_id": list_id,
                        "subscriber_id": i + 1,
                        "status": "active",
                        "status_reason": "",
                        "status_changed_at": now,
                        "created_at": now,
                    }
                    for i in idx
                ],
            )
            conn.execute(
                insert(Recipient),
                [
                    {
                        "send_id": send_id,
                        "subscriber_id": i + 1,
                        "email": e,
                        "status": "sent",
                        "attempts": 1,
                        "provider_message_id": message_id(i),
                        "error": "",
                        "sent_at": now,
                        "opens": 0,
                        "clicks": 0,
                    }
                    for i, e in emails.items()
                ],
            )
    if not db.is_sqlite:
        # As autovacuum would long before feedback arrives: fresh statistics.
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    db.dispose()
    return send_id


def measure(report: Report, label: str, url: str, folder: Path) -> None:
    from click.testing import CliRunner

    from mailer.cli import cli
    from mailer.config import load_settings
    from mailer.db import Database
    from mailer.events.ingest import ingest_files

    send_id = populate(url)
    paths = write_events(folder, send_id)
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    settings = load_settings(config, environ={})
    db = Database(url)
    started = time.perf_counter()
    result = ingest_files(db, settings, paths)
    elapsed = time.perf_counter() - started
    rate = result.received / elapsed
    report.add(
        "events",
        f"ingest 100k events ({label})",
        rate,
        "events/s",
        target=f">= {EVENTS_TARGET:,.0f}/s",
        ok=rate >= EVENTS_TARGET,
        note=f"{result.new:,} new, {result.matched:,} matched, {result.suppressed:,} suppressed, "
        f"{elapsed:.1f} s",
    )
    again = time.perf_counter()
    replay = ingest_files(db, settings, paths[:1])
    replay_rate = replay.received / (time.perf_counter() - again)
    report.add(
        "events",
        f"replay duplicates ({label})",
        replay_rate,
        "events/s",
        note=f"{replay.duplicates:,} duplicates, {replay.new} new",
    )
    db.dispose()
    runner = CliRunner()
    started = time.perf_counter()
    out = runner.invoke(cli, ["--config", str(config), "report", str(send_id), "--format", "json"])
    took = time.perf_counter() - started
    if out.exit_code != 0:
        raise RuntimeError(f"mailer report failed: {out.output}")
    counts = json.loads(out.output)["counts"]
    report.add(
        "events",
        f"mailer report on the 100k send ({label})",
        took,
        "s",
        target=f"< {REPORT_TARGET_S:g} s",
        ok=took < REPORT_TARGET_S,
        note=f"{counts['delivered']:,} delivered, {counts['hard_bounced']:,} hard bounces",
    )


@contextmanager
def _pg_database() -> Iterator[str | None]:
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(
            PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:
        yield None
        return
    name = f"mailer_bench_events_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="mailer-bench-events-") as tmp:
        folder = Path(tmp) / "sqlite"
        folder.mkdir()
        measure(report, "SQLite", f"sqlite:///{folder / 'bench.db'}", folder)
    with _pg_database() as url, tempfile.TemporaryDirectory(prefix="mailer-bench-events-") as tmp:
        if url is None:
            report.add(
                "events",
                "ingest 100k events (PostgreSQL)",
                0,
                "events/s",
                note=f"skipped: no PostgreSQL at {PG_ADMIN_URL}",
            )
            return
        measure(report, "PostgreSQL", url, Path(tmp))


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
