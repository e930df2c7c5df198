"""Guardrails benchmark: the per-story report on a 100k send, and `mailer doctor`.

Per-story report: the events benchmark's 100,000-recipient send (a temporary
SQLite file; a fresh PostgreSQL database), every message delivered, the
send's link map set to five stories and a sponsor link, and 10% of the
recipients clicking: people one to three links minutes to days after
delivery, a fifth of the clickers behind a link scanner that follows every
link within seconds, a few scripts; 40% open, a third of those through
Apple's privacy proxy. Event rows are written directly (ingest has its own
benchmark); ``mailer report SEND --format json`` is then timed.

Doctor: ``mailer doctor --format json`` for three lists on three domains,
SMTP path, against a local dnslib DNS server.

``python -m bench guardrails`` runs it.
"""

from __future__ import annotations

import json
import random
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.events import T0, _pg_database, populate
from bench.report import Report

REPORT_TARGET_S = 1.0
DOCTOR_TARGET_S = 2.0
CLICKERS = 0.10
OPENERS = 0.40
STORIES = [f"https://news.example.org/issues/42/story-{n}/" for n in range(1, 6)]
SPONSOR = "https://sponsor.example.com/"
STORY_LINKS: list[dict[str, str | None]] = [
    {"url": u, "tag": f"story:{n}", "story": f"Story {n}"} for n, u in enumerate(STORIES, 1)
]
LINKS = [
    *STORY_LINKS,
    {"url": SPONSOR, "tag": None, "story": None},
    {"url": "%%unsubscribe_url%%", "tag": "link:unsubscribe", "story": None},
]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def _events(send_id: int, rids: list[int], seed: int = 13) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    delivered = T0 + timedelta(seconds=5)

    def add(kind: str, rid: int, at: Any, agent: str, ip: str, url: str | None) -> None:
        n = len(rows)
        tag = next((e["tag"] for e in LINKS if e["url"] == url), None)
        rows.append(
            {
                "dedupe_key": f"{kind}:bench:{n}",
                "source": "bench",
                "event_type": kind,
                "ses_message_id": None,
                "email": None,
                "send_id": send_id,
                "recipient_id": rid,
                "bounce_type": None,
                "detail": url or agent,
                "occurred_at": at,
                "received_at": at,
                "orphan": False,
                "payload": "{}",
                "link": url,
                "link_tags": json.dumps({tag.split(":")[0]: [tag.split(":")[1]]}) if tag else None,
                "user_agent": agent,
                "ip_address": ip,
            }
        )

    for rid in rng.sample(rids, int(len(rids) * OPENERS)):
        if rng.random() < 1 / 3:
            add("open", rid, delivered + timedelta(seconds=3), "Mozilla/5.0", "17.58.1.2", None)
        else:
            add(
                "open",
                rid,
                delivered + timedelta(minutes=rng.randrange(1, 3000)),
                FIREFOX,
                "198.51.100.7",
                None,
            )
    targets = [*STORIES, SPONSOR]
    for rid in rng.sample(rids, int(len(rids) * CLICKERS)):
        roll = rng.random()
        if roll < 0.2:  # a link scanner at the gateway
            for k, url in enumerate(targets):
                add("click", rid, delivered + timedelta(seconds=2 + k), FIREFOX, "203.0.113.5", url)
        elif roll < 0.22:
            add(
                "click",
                rid,
                delivered + timedelta(hours=1),
                "python-requests/2.31",
                "203.0.113.6",
                rng.choice(targets),
            )
        else:
            for url in rng.sample(targets, rng.randint(1, 3)):
                add(
                    "click",
                    rid,
                    delivered + timedelta(minutes=rng.randrange(5, 3000)),
                    FIREFOX,
                    "198.51.100.7",
                    url,
                )
    return rows


def prepare(url: str) -> int:
    from sqlalchemy import bindparam, insert, select, update

    from mailer.db import Database
    from mailer.db.models import Event, Recipient, Send

    send_id = populate(url)
    db = Database(url)
    with db.session() as s:
        s.execute(update(Send).where(Send.id == send_id).values(links=LINKS))
        s.execute(
            update(Recipient)
            .where(Recipient.send_id == send_id)
            .values(delivered_at=T0 + timedelta(seconds=5))
        )
        rids = list(s.scalars(select(Recipient.id).where(Recipient.send_id == send_id)))
    rows = _events(send_id, rids)
    opens: dict[int, int] = {}
    clicks: dict[int, int] = {}
    for r in rows:
        into = opens if r["event_type"] == "open" else clicks
        into[r["recipient_id"]] = into.get(r["recipient_id"], 0) + 1
    with db.session() as s:
        for start in range(0, len(rows), 5000):
            s.execute(insert(Event), rows[start : start + 5000])
        # The outbox counters ingest keeps beside the events.
        for counter, column in ((opens, "opens"), (clicks, "clicks")):
            table: Any = Recipient.__table__
            s.execute(
                update(table)
                .where(table.c.id == bindparam("rid"))
                .values({column: bindparam("n")}),
                [{"rid": rid, "n": n} for rid, n in counter.items()],
            )
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    db.dispose()
    return send_id


def measure_report(report: Report, label: str, url: str, folder: Path) -> None:
    from click.testing import CliRunner

    from mailer.cli import cli

    send_id = prepare(url)
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    started = time.perf_counter()
    out = CliRunner().invoke(
        cli, ["--config", str(config), "report", str(send_id), "--format", "json"]
    )
    took = time.perf_counter() - started
    if out.exit_code != 0:
        raise RuntimeError(f"mailer report failed: {out.output}")
    data = json.loads(out.output)
    report.add(
        "guardrails",
        f"per-story report, 100k send, 10% clickers ({label})",
        took,
        "s",
        target=f"< {REPORT_TARGET_S:g} s",
        ok=took < REPORT_TARGET_S,
        note=f"{data['clicks']:,} people / {data['machine_clicks']:,} machines clicked, "
        f"{data['opens']:,} / {data['machine_opens']:,} opened, {len(data['links'])} links",
    )


ZONE = (
    "\n".join(
        f"""
{d}. 300 IN TXT "v=spf1 include:_spf.{d} -all"
_spf.{d}. 300 IN TXT "v=spf1 ip4:127.0.0.0/24 ~all"
{d}. 300 IN MX 10 mx.{d}.
mx.{d}. 300 IN A 127.0.0.1
_dmarc.{d}. 300 IN TXT "v=DMARC1; p=quarantine"
mail._domainkey.{d}. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ"
"""
        for d in ("one.example", "two.example", "three.example")
    )
    + "\nsmtp.one.example. 300 IN A 127.0.0.1\n"
)


def measure_doctor(report: Report, folder: Path) -> None:
    from click.testing import CliRunner
    from dnslib.server import DNSLogger, DNSServer
    from dnslib.zoneresolver import ZoneResolver

    from mailer.cli import cli
    from mailer.db import Database
    from mailer.db.models import MailingList

    url = f"sqlite:///{folder / 'doctor.db'}"
    db = Database(url)
    db.upgrade()
    with db.session() as s:
        for d in ("one", "two", "three"):
            s.add(
                MailingList(
                    slug=d,
                    name=d,
                    description="",
                    from_name=d,
                    from_email=f"news@{d}.example",
                    reply_to="",
                    language="en",
                    template="default",
                    double_opt_in=True,
                    postal_address="",
                    created_at=T0,
                    updated_at=T0,
                )
            )
    db.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = DNSServer(
        ZoneResolver(ZONE), port=port, address="127.0.0.1", logger=DNSLogger("-request,-reply")
    )
    server.start_thread()
    config = folder / "doctor.toml"
    config.write_text(
        f'[site]\nbase_url = "https://news.one.example"\nsecret_key = "{"k" * 48}"\n'
        'unsubscribe_mailto = "unsubscribe@one.example"\n'
        '[delivery]\ntransport = "smtp"\n[smtp]\nhost = "smtp.one.example"\n'
        f'[guardrails]\ndkim_selector = "mail"\ndns_nameservers = ["127.0.0.1:{port}"]\n'
        f'[database]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    try:
        started = time.perf_counter()
        out = CliRunner().invoke(cli, ["--config", str(config), "doctor", "--format", "json"])
        took = time.perf_counter() - started
    finally:
        server.stop()
    data = json.loads(out.output)
    report.add(
        "guardrails",
        "mailer doctor, 3 domains, local DNS",
        took,
        "s",
        target=f"< {DOCTOR_TARGET_S:g} s",
        ok=took < DOCTOR_TARGET_S and out.exit_code == 0,
        note=", ".join(f"{n} {k}" for k, n in data["summary"].items()),
    )


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="mailer-bench-guardrails-") as tmp:
        measure_doctor(report, Path(tmp))
        measure_report(report, "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
    with _pg_database() as url, tempfile.TemporaryDirectory(prefix="mailer-bench-g-") as tmp:
        if url is None:
            report.add("guardrails", "per-story report (PostgreSQL)", 0, "s", note="skipped")
            return
        measure_report(report, "PostgreSQL", url, Path(tmp))


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
