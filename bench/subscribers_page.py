"""Web benchmark: the subscribers page at a million subscribers (part of ``bench web``).

A throwaway database gets 1,000,000 subscribers on one list (2% unsubscribed,
1% unconfirmed, 1% suppressed), filled by SQL rather than through the
importer (its own benchmark is ``bench lists``). ``mailer serve`` then
answers a logged-in operator's requests, driven by ``wrk`` (or the httpx
stand-in) with four connections that each pause 100 ms after an answer: up
to about 40 pages a second, far more than a team of operators asks for,
without measuring only the queue of a saturated server. Three pages: the
first, one 900,000 rows deep (keyset paging: ``after=``), and the same depth
filtered to the list's active members. Target: p99 under 50 ms on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench import web
from bench.report import Report

PEOPLE = 1_000_000
DEEP_AFTER = PEOPLE // 10  # newest first: ids below this are 900,000 rows down
CONNECTIONS = 4
PACE_MS = 100.0  # each connection's pause after an answer: up to ~40 pages/s in all
SECONDS = 6
TARGET_P99_MS = 50.0


def _fill(cfg: Path) -> None:
    """One list and ``PEOPLE`` subscribers, by SQL; then planner statistics."""
    from sqlalchemy import event, text

    from mailer.accounts import add_user
    from mailer.config import load_settings
    from mailer.db import Database
    from mailer.db import subscribers as store

    settings = load_settings(cfg, environ={})
    db = Database.from_settings(settings)
    db.upgrade()
    with db.session() as s:
        store.upsert_list(
            s,
            "bench",
            {
                "name": "Bench List",
                "description": "",
                "from_name": "Bench",
                "from_email": "bench@example.org",
                "reply_to": "",
                "language": "en",
                "template": "default",
                "double_opt_in": False,
                "postal_address": "Bench Street 1, Brussels",
            },
        )
    add_user(db, web.BENCH_USER, web.BENCH_PASSWORD)
    if db.is_sqlite:
        numbers = (
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PEOPLE}) "
        )
        email = "'reader' || printf('%07d', i) || '@example.org'"
        digest = f"sha256hex({email})"
        now = "datetime('now')"

        def register(dbapi_conn: object, _record: object) -> None:
            dbapi_conn.create_function(  # type: ignore[attr-defined]
                "sha256hex", 1, lambda v: hashlib.sha256(v.encode()).hexdigest(), deterministic=True
            )

        event.listen(db.engine, "connect", register)
        db.engine.dispose()  # new connections get the function
        source = f"{numbers} SELECT i FROM n"
    else:
        email = "'reader' || lpad(i::text, 7, '0') || '@example.org'"
        digest = f"encode(sha256(convert_to({email}, 'UTF8')), 'hex')"
        now = "now()"
        source = f"SELECT i FROM generate_series(1, {PEOPLE}) AS i"
    with db.engine.begin() as conn:
        list_id = conn.scalar(text("SELECT id FROM lists WHERE slug = 'bench'"))
        conn.execute(
            text(
                "INSERT INTO subscribers (id, email, email_hash, name, attributes, source, "
                f"created_at, updated_at) SELECT i, {email}, {digest}, 'Reader ' || i, '{{}}', "
                f"'bench', {now}, {now} FROM ({source}) AS seq"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subscriptions (list_id, subscriber_id, status, status_reason, "
                f"status_changed_at, created_at) SELECT {list_id}, id, CASE "
                "WHEN id % 50 = 0 THEN 'unsubscribed' WHEN id % 97 = 0 THEN 'unconfirmed' "
                f"ELSE 'active' END, 'bench', {now}, {now} FROM subscribers"
            )
        )
        conn.execute(
            text(
                "INSERT INTO suppressions (email_hash, email, reason, detail, created_at) "
                f"SELECT email_hash, email, 'hard_bounce', 'bench', {now} FROM subscribers "
                "WHERE id % 100 = 7"
            )
        )
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.execute(text("ANALYZE"))
            conn.commit()
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    db.dispose()


def _check(base: str, cookie: str, path: str) -> int:
    """Rows on the page (and that it is the page, not the login form)."""
    r = httpx.get(base + path, headers={"cookie": cookie}, timeout=30)
    assert r.status_code == 200 and "<h1>Subscribers</h1>" in r.text, (path, r.status_code)
    return r.text.count("<tr data-subscriber=")


PACE_LUA = """
function init(args)
  pace = tonumber(args[1])
end
function delay()
  return pace
end
"""


def _load(
    base: str, cookie: str, path: str, tool: str, folder: Path, seconds: int = SECONDS
) -> web.Load:
    """``CONNECTIONS`` operators, each waiting ``PACE_MS`` after every answer."""
    if tool == "httpx":
        return asyncio.run(
            web._httpx_load(
                base,
                [path],
                post=False,
                seconds=seconds,
                pace_ms=PACE_MS,
                connections=CONNECTIONS,
                headers={"cookie": cookie},
            )
        )
    script = folder / "pace.lua"
    script.write_text(PACE_LUA)
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    cmd += ["-s", str(script), "-H", f"Cookie: {cookie}", base + path, "--", f"{PACE_MS:.0f}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return web._parse_wrk(out.stdout)


def measure(report: Report, dialect: str, url: str) -> None:
    """Fill a database at ``url`` and time the subscribers page on it."""
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-people-"))
    try:
        port = web._free_port()
        cfg = web._write_config(folder, url, port)
        _fill(cfg)
        base = f"http://127.0.0.1:{port}"
        tool = "wrk" if shutil.which("wrk") else "httpx"
        pages = {
            "first page": "/admin/subscribers",
            "900,000 deep": f"/admin/subscribers?after={DEEP_AFTER}",
            "900,000 deep, list + active": (
                f"/admin/subscribers?list=bench&status=active&after={DEEP_AFTER}"
            ),
        }
        with web._Server(cfg, port) as server:
            cookie = web._session_cookie(base)
            # A short unrecorded warm-up, as on a server that has been up a while.
            _load(base, cookie, pages["first page"], tool, folder, seconds=web.WARM_SECONDS)
            for name, path in pages.items():
                rows = _check(base, cookie, path)
                # The server's own CPU time per page: what the page costs,
                # apart from waiting for a core on a busy machine.
                cpu = server.cpu_seconds()
                got = _load(base, cookie, path, tool, folder)
                cpu_ms = 1000 * (server.cpu_seconds() - cpu) / max(1, got.requests)
                report.add(
                    "web",
                    f"subscribers page at 1M, {name}, {dialect}: p99",
                    got.p99_ms,
                    "ms",
                    target=f"< {TARGET_P99_MS:.0f}",
                    ok=got.p99_ms < TARGET_P99_MS and not got.failed and rows == 50,
                    note=f"{tool}, {CONNECTIONS} conns pausing {PACE_MS:.0f} ms: "
                    f"{got.rps:,.0f} req/s, "
                    f"p50 {got.p50_ms:.1f} ms, server CPU {cpu_ms:.1f} ms/page, "
                    f"load average {os.getloadavg()[0]:.1f}, {rows} rows"
                    + (f", {got.failed} FAILED" if got.failed else ""),
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(report: Report) -> None:
    """The measurement on SQLite, and on PostgreSQL when a server answers."""
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-people-db-"))
    try:
        measure(report, "SQLite", f"sqlite:///{folder / 'bench.db'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not web._pg_available():
        report.add("web", "subscribers page at 1M, PostgreSQL", 0, "ms", note="no PostgreSQL")
        return
    import uuid

    from sqlalchemy import create_engine, text

    name = f"mailer_bench_people_{uuid.uuid4().hex[:8]}"
    admin = create_engine(web.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        measure(report, "PostgreSQL", f"{web.PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
