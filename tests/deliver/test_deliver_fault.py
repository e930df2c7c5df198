"""Crash safety with real processes: SIGKILL, SIGTERM, several workers, one SQLite worker.

A ``mailer worker`` subprocess delivers to a real SMTP server (aiosmtpd in this
process) that records every message; the database tells what the worker
believes. Together they must agree: each recipient got exactly one message or
is listed as uncertain.

No test waits for a moment: the server holds a chosen message unanswered, so
the worker is stuck at a known point (a message in flight, its batch claimed)
when it is killed or stopped. The SIGKILL points come from a seeded generator
(``MAILER_FAULT_SEED`` picks another seed; a failure names the one it used).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.deliver import sends
from mailer.status import RecipientStatus, SendStatus
from tests.support.deliver import ISSUE, SmtpServer, make_list

RS = RecipientStatus
MAILER = str(Path(sys.executable).parent / "mailer")
SEED = int(os.environ.get("MAILER_FAULT_SEED", "8058"))
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
# Long: a held message must outwait the test, never time out.
timeout = 60
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


def stopped_at(server: SmtpServer, message: int) -> None:
    """Wait until the worker is stuck on message number ``message``, held by the server."""
    assert server.handler.held.wait(30), (
        f"message {message} never came ({len(server.handler.messages)} did)"
    )


def test_sigkill_at_seeded_points_never_sends_twice(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    batch, kills, total = 100, 4, 3000
    config = worker_config(settings, db, smtp_server, batch)
    _, emails = make_list(db, count=total)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    rng = random.Random(SEED)
    points = []
    for _ in range(kills):
        # Somewhere in the next two batches: in a batch's first message, its
        # last, or between; the worker is killed with that message in flight.
        point = len(smtp_server.handler.messages) + rng.randint(1, 2 * batch)
        points.append(point)
        smtp_server.handler.hold(point)
        worker = start_worker(config)
        stopped_at(smtp_server, point)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        smtp_server.handler.let_go()
    finish(config, db, send.id)

    seed = f"seed {SEED}, killed at messages {points}"
    got = smtp_server.handler.count_by_recipient()
    state = statuses(db, send.id)
    assert set(state) == set(emails)
    final = counts(db, send.id)
    assert set(final) <= {RS.SENT, RS.UNCERTAIN}, (seed, final)
    assert sum(final.values()) == total
    # Each kill left one batch in flight, the held messages among it.
    assert 1 <= final.get(RS.UNCERTAIN, 0) <= batch * kills, (seed, final)
    for address, status in state.items():
        if status == RS.SENT:
            assert got.get(address) == 1, (seed, address, got.get(address))
        else:
            assert got.get(address, 0) <= 1, (seed, address, got.get(address))
    assert sum(got.values()) >= final[RS.SENT]
    assert set(got) <= set(emails)


def test_sigterm_finishes_in_flight_releases_the_rest_and_exits(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    connections, point = 4, 200
    config = worker_config(settings, db, smtp_server, batch=100)
    _, emails = make_list(db, count=1500)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    smtp_server.handler.hold(point)
    worker = start_worker(config)
    stopped_at(smtp_server, point)
    worker.send_signal(signal.SIGTERM)
    assert worker.stderr is not None
    # Let the held messages through only once the worker has taken the signal
    # (its log may come first: read on to the acknowledgement, within bounds).
    said = [worker.stderr.readline() for _ in range(1)]
    while "stopping: finishing the messages in flight" not in said[-1] and len(said) < 50:
        said.append(worker.stderr.readline())
    assert "stopping: finishing the messages in flight" in said[-1], said
    smtp_server.handler.let_go()
    out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert "messages handled" in out
    mid = counts(db, send.id)
    # Nothing left in flight or uncertain: what went out is recorded as sent.
    assert RS.SENDING not in mid and RS.UNCERTAIN not in mid
    got = smtp_server.handler.count_by_recipient()
    sent_now = {a for a, s in statuses(db, send.id).items() if s == RS.SENT}
    assert set(got) == sent_now and set(got.values()) == {1}
    # The messages before the held one, the held one, and at most one more on
    # each other connection (already handed over when the signal came); the
    # rest of the batch was released.
    assert point <= len(sent_now) <= point + connections - 1, len(sent_now)
    if db.is_sqlite:
        # While a worker runs, a second one on the same SQLite database is refused.
        smtp_server.handler.hold(len(smtp_server.handler.messages) + 1)
        worker = start_worker(config)
        stopped_at(smtp_server, len(sent_now) + 1)
        second = subprocess.run(
            [MAILER, "--config", str(config), "worker", "--once"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode != 0
        assert "SQLite runs one worker at a time" in second.stderr
        worker.send_signal(signal.SIGTERM)
        assert worker.stderr is not None
        assert "stopping" in worker.stderr.readline()
        smtp_server.handler.let_go()
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
    # Hold every message until each of the three workers has claimed a batch:
    # then all three take part, however slowly each one starts.
    smtp_server.handler.hold(1)
    workers = [start_worker(config, "--once") for _ in range(3)]
    deadline = time.monotonic() + 60
    while len(claimants(db, send.id)) < 3:
        assert time.monotonic() < deadline, claimants(db, send.id)
        assert all(w.poll() is None for w in workers), [w.poll() for w in workers]
        time.sleep(0.05)
    smtp_server.handler.let_go()
    handled = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        handled.append(int(out.split(": ", 1)[1].split(" messages", 1)[0].replace(",", "")))
    assert counts(db, send.id) == {RS.SENT: 3000}
    assert smtp_server.handler.count_by_recipient() == dict.fromkeys(emails, 1)
    assert sum(handled) == 3000
    assert all(h > 0 for h in handled), handled


def claimants(db: Database, send_id: int) -> set[str]:
    """Workers holding recipients of the send in flight."""
    from sqlalchemy import select

    from mailer.db.models import Recipient

    with db.session() as session:
        return set(
            session.scalars(
                select(Recipient.claimed_by).where(
                    Recipient.send_id == send_id, Recipient.status == RS.SENDING
                )
            )
        )
