"""Crash safety with real processes: SIGKILL, SIGTERM, several workers, one SQLite worker.

A ``mailer worker`` subprocess delivers to a real SMTP server (aiosmtpd in this
process) that records every message; the database tells what the worker
believes. Together they must agree: each recipient got exactly one message or
is listed as uncertain.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deliver_helpers import SmtpServer, make_list
from tests_issue import ISSUE

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.models import RecipientStatus, SendStatus
from mailer.deliver import sends

RS = RecipientStatus
MAILER = str(Path(sys.executable).parent / "mailer")
pytestmark = pytest.mark.slow


def worker_config(settings: Settings, db: Database, server: SmtpServer, batch: int) -> Path:
    base = (settings.base_dir / "config.toml").read_text(encoding="utf-8")
    path = settings.base_dir / "worker.toml"
    path.write_text(
        base
        + f"""
[database]
url = "{db.url}"
[delivery]
transport = "smtp"
batch_size = {batch}
lease_seconds = 10
poll_seconds = 0.2
threads = 4
[smtp]
host = "{server.host}"
port = {server.port}
connections = 4
timeout = 10
""",
        encoding="utf-8",
    )
    return path


def start_worker(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [MAILER, "--config", str(config), "worker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_messages(server: SmtpServer, at_least: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(server.handler.messages) < at_least:
        assert time.monotonic() < deadline, f"only {len(server.handler.messages)} messages"
        time.sleep(0.02)


def counts(db: Database, send_id: int) -> dict[str, int]:
    with db.session() as session:
        return {k: v for k, v in store.counts(session, send_id).items() if v}


def statuses(db: Database, send_id: int) -> dict[str, str]:
    from sqlalchemy import select

    from mailer.db.models import Recipient

    with db.session() as session:
        rows = session.execute(
            select(Recipient.email, Recipient.status).where(Recipient.send_id == send_id)
        )
        return dict(rows.all())


def finish(config: Path, db: Database, send_id: int, timeout: float = 60) -> None:
    """Run ``worker --once`` until the send is done (waiting out dead workers' leases)."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [MAILER, "--config", str(config), "worker", "--once"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        with db.session() as session:
            if store.get_send(session, send_id).status == SendStatus.DONE:
                return
        assert time.monotonic() < deadline, counts(db, send_id)
        time.sleep(0.5)


def test_sigkill_at_random_points_never_sends_twice(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    batch, kills, total = 100, 4, 3000
    config = worker_config(settings, db, smtp_server, batch)
    _, emails = make_list(db, count=total)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    rng = random.Random()
    for _ in range(kills):
        worker = start_worker(config)
        # Kill it somewhere in the middle of its work, at a random moment.
        wait_for_messages(smtp_server, len(smtp_server.handler.messages) + 50)
        time.sleep(rng.uniform(0.0, 0.4))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finish(config, db, send.id)

    got = smtp_server.handler.count_by_recipient()
    state = statuses(db, send.id)
    assert set(state) == set(emails)
    final = counts(db, send.id)
    assert set(final) <= {RS.SENT, RS.UNCERTAIN}, final
    assert sum(final.values()) == total
    assert final.get(RS.UNCERTAIN, 0) <= batch * kills
    for address, status in state.items():
        if status == RS.SENT:
            assert got.get(address) == 1, (address, got.get(address))
        else:
            assert got.get(address, 0) <= 1, (address, got.get(address))
    assert sum(got.values()) >= final[RS.SENT]
    assert set(got) <= set(emails)


def test_sigterm_finishes_in_flight_releases_the_rest_and_exits(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    config = worker_config(settings, db, smtp_server, batch=100)
    _, emails = make_list(db, count=1500)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    worker = start_worker(config)
    wait_for_messages(smtp_server, 200)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert "messages handled" in out
    mid = counts(db, send.id)
    # Nothing left in flight or uncertain: what went out is recorded as sent.
    assert RS.SENDING not in mid and RS.UNCERTAIN not in mid
    got = smtp_server.handler.count_by_recipient()
    sent_now = {a for a, s in statuses(db, send.id).items() if s == RS.SENT}
    assert set(got) == sent_now and set(got.values()) == {1}
    assert 0 < len(sent_now) < 1500
    if db.is_sqlite:
        # While a worker runs, a second one on the same SQLite database is refused.
        worker = start_worker(config)
        wait_for_messages(smtp_server, len(sent_now) + 1)
        second = subprocess.run(
            [MAILER, "--config", str(config), "worker", "--once"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode != 0
        assert "SQLite runs one worker at a time" in second.stderr
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=20)
        assert worker.returncode == 0
    finish(config, db, send.id)
    assert counts(db, send.id) == {RS.SENT: 1500}
    assert smtp_server.handler.count_by_recipient() == dict.fromkeys(emails, 1)


def test_several_workers_share_one_send_on_postgres(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite runs one worker at a time (see the SIGTERM test)")
    config = worker_config(settings, db, smtp_server, batch=50)
    _, emails = make_list(db, count=3000)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    workers = [start_worker(config, "--once") for _ in range(3)]
    handled = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        handled.append(int(out.split(": ", 1)[1].split(" messages", 1)[0].replace(",", "")))
    assert counts(db, send.id) == {RS.SENT: 3000}
    assert smtp_server.handler.count_by_recipient() == dict.fromkeys(emails, 1)
    assert sum(handled) == 3000
    assert sum(1 for h in handled if h > 0) >= 2, handled
