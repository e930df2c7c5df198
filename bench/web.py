"""Web benchmark: RFC 8058 one-click unsubscribes and the public archive page under load.

For each database (SQLite, and PostgreSQL when a server answers) it builds a
throwaway project: a list of ``SUBSCRIBERS`` imported from CSV, the English
sample sent to it through the null transport (so the archive page is
published and every unsubscribe is credited to a send), then starts
``mailer serve`` in a subprocess on a free loopback port and drives it with
``wrk`` (Debian package ``wrk``): each one-click POST carries a different
subscriber's signed token. The site runs as a production site would after a
key rotation: a current key plus one in ``site.previous_secret_keys``; a third
one-click phase uses links signed with the previous key (mail sent before the
rotation), and a logged-in operator's requests for ``/admin/`` (a redirect
once the session holds) measure the session check (user and credentials
looked up on every request). The one-click
phases: flat out (16 connections, no pause: the most it serves) and paced (64
connections that each pause after an answer, offering about the 500/s of the
target: the latency a site sees at that rate; latency measured flat out is
only queueing behind the connections). Runs are bounded in time (``SECONDS`` each) and connections;
nothing leaves 127.0.0.1. Without ``wrk`` a bounded async httpx load
generator takes its place (slower itself, so its figures are a floor).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.report import Report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "ai2x-briefing-2026-01-12"
SUBSCRIBERS = 32_000
SECONDS = 8
WARM_SECONDS = 2
WARM_TOKENS = 3_000
CONNECTIONS = 16
THREADS = 1  # wrk is light; the server gets the other core
PG_ADMIN_URL = os.environ.get(
    "MAILER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
OLD_KEY = "bench-previous-key-signed-old-mail-0123456789"
BENCH_USER, BENCH_PASSWORD = "bench-ops", "bench password 0123"
TARGET_RPS = 500.0
TARGET_P99_MS = 50.0
PACE_FACTOR = 1.1
PACED_CONNECTIONS = 64  # many slow connections: the offered rate barely depends on latency

# Each wrk thread walks its own share of the token paths, one POST per path;
# with a pace, each connection waits that many ms after an answer.
ONE_CLICK_LUA = """
local paths = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = id
  step = tonumber(args[2])
  pace = tonumber(args[3])
end
function delay()
  return pace
end
function request()
  i = i + step
  if i > #paths then i = (i % #paths) + 1 end
  return wrk.format("POST", paths[i],
    {["Content-Type"] = "application/x-www-form-urlencoded"}, "List-Unsubscribe=One-Click")
end
"""


ARCHIVE_RPS = 4400
ARCHIVE_P99_MS = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_config(folder: Path, url: str, port: int) -> Path:
    cfg = folder / "config.toml"
    cfg.write_text(
        f"""
[site]
base_url = "http://127.0.0.1:{port}"
secret_key = "bench-secret-key-0123456789abcdef"
previous_secret_keys = ["{OLD_KEY}"]
[paths]
issues_dir = "{ROOT / "issues"}"
templates_dir = "{ROOT / "templates"}"
lists_dir = "lists"
[database]
url = "{url}"
[delivery]
transport = "null"
[web]
subscribe_per_minute = 10
""",
        encoding="utf-8",
    )
    (folder / "lists").mkdir(exist_ok=True)
    return cfg


def _prepare(cfg: Path, folder: Path) -> list[str]:
    """Migrate, import the list, send the sample; return the one-click paths."""
    from mailer import links
    from mailer.accounts import add_user
    from mailer.compose.snapshot import freeze_issue
    from mailer.config import load_settings
    from mailer.content import load_issue
    from mailer.db import Database
    from mailer.db import subscribers as store
    from mailer.deliver.sends import create_send
    from mailer.deliver.worker import Worker
    from mailer.lists.addresses import email_hash
    from mailer.lists.importer import import_csv

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
    addresses = [f"reader{i:06d}@example.org" for i in range(SUBSCRIBERS)]
    csv_path = folder / "subscribers.csv"
    csv_path.write_text(
        "email,name\n" + "".join(f"{a},Reader {i}\n" for i, a in enumerate(addresses))
    )
    import_csv(db, settings, csv_path, "bench")
    issue = load_issue(ROOT / "issues" / SAMPLE, settings)
    composed, snapshot = freeze_issue(issue, settings)
    create_send(settings, db, composed, "bench", snapshot=snapshot)
    Worker(settings, db).run(once=True)
    if not db.is_sqlite:
        # A server that has been up a while has planner statistics (autovacuum
        # analyzes a table soon after a bulk insert); a freshly loaded one has
        # none, and PostgreSQL then plans the credit lookup as a scan of the send.
        from sqlalchemy import text

        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    add_user(db, BENCH_USER, BENCH_PASSWORD)
    db.dispose()
    # The last third of the addresses got their mail before the key rotation.
    old = settings.model_copy(deep=True)
    old.site.secret_key = SecretStr(OLD_KEY)
    old.site.previous_secret_keys = []
    rotated = len(addresses) - (len(addresses) - WARM_TOKENS) // 3
    return [
        "/u/"
        + links.make_token(settings if i < rotated else old, "unsubscribe", "bench", email_hash(a))
        for i, a in enumerate(addresses)
    ]


def _session_cookie(base: str) -> str:
    """Log in as the bench operator; return the session cookie header value."""
    import httpx

    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        r = client.post(
            "/login",
            data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token.group(1)},
        )
        assert r.status_code == 303, r.text[:500]
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _unsubscribed(cfg: Path) -> int:
    from mailer.config import load_settings
    from mailer.db import Database
    from mailer.db import subscribers as store

    settings = load_settings(cfg, environ={})
    db = Database.from_settings(settings)
    with db.session() as s:
        counts = {c.slug: c for c in store.list_counts(s)}
    db.dispose()
    return counts["bench"].unsubscribed


class _Server:
    """``mailer serve`` in a subprocess, on loopback."""

    def __init__(self, cfg: Path, port: int) -> None:
        self.cfg, self.port = cfg, port

    def __enter__(self) -> _Server:
        mailer = Path(sys.executable).parent / "mailer"
        cmd = [str(mailer), "--config", str(self.cfg), "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--no-access-log"]
        # The log goes to a file: a pipe nobody reads would block the server once full.
        self.log = self.cfg.parent / "serve.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mailer serve exited: {tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mailer serve did not start within 30 s")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system).

        Per request, it tells what a request costs the server even when a
        busy machine makes requests per second swing.
        """
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class Load:
    """What one load phase measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int  # non-2xx answers and socket errors


def _percentile(output: str, pct: str) -> float:
    m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    assert m, output
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def _parse_wrk(output: str) -> Load:
    """The figures of a ``wrk --latency`` run."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(bad.group(1)) if bad else 0
    if errors:
        failed += sum(int(g) for g in errors.groups())
    return Load(rps, _percentile(output, "50"), _percentile(output, "99"), total, failed)


def _wrk(
    url: str,
    script: Path | None,
    args: list[str],
    seconds: int = SECONDS,
    connections: int = CONNECTIONS,
    headers: dict[str, str] | None = None,
) -> Load:
    cmd = [
        "wrk",
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return _parse_wrk(out.stdout)


async def _httpx_load(
    base: str,
    paths: list[str],
    post: bool,
    seconds: int = SECONDS,
    pace_ms: float = 0.0,
    connections: int = CONNECTIONS,
    headers: dict[str, str] | None = None,
) -> Load:
    import httpx

    latencies: list[float] = []
    failed = 0
    stop = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient, start: int) -> None:
        nonlocal failed
        i = start
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += connections
            t = time.perf_counter()
            if post:
                r = await client.post(
                    path,
                    content=b"List-Unsubscribe=One-Click",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
            else:
                r = await client.get(path)
            latencies.append((time.perf_counter() - t) * 1000)
            failed += r.status_code >= 400
            if pace_ms:
                await asyncio.sleep(pace_ms / 1000)

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=5, headers=headers) as client:
        await asyncio.gather(*(one(client, k) for k in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[max(0, int(len(latencies) * p) - 1)] if latencies else 0.0

    return Load(len(latencies) / elapsed, pct(0.5), pct(0.99), len(latencies), failed)


def _one_click(base: str, folder: Path, tool: str, phase: str, paths: list[str], **kw: Any) -> Load:
    """One load phase of one-click POSTs, each on tokens of its own."""
    seconds = kw.get("seconds", SECONDS)
    pace_ms = kw.get("pace_ms", 0.0)
    conns = PACED_CONNECTIONS if pace_ms else CONNECTIONS
    if tool == "httpx":
        return asyncio.run(
            _httpx_load(base, paths, True, seconds=seconds, pace_ms=pace_ms, connections=conns)
        )
    script = folder / "one_click.lua"
    script.write_text(ONE_CLICK_LUA)
    tokens = folder / f"{phase}.txt"
    tokens.write_text("\n".join(paths) + "\n")
    args = [str(tokens), str(THREADS), f"{pace_ms:.1f}"]
    return _wrk(base, script, args, seconds=seconds, connections=conns)


def _page(
    base: str,
    tool: str,
    path: str,
    seconds: int = SECONDS,
    headers: dict[str, str] | None = None,
) -> Load:
    if tool == "httpx":
        return asyncio.run(_httpx_load(base, [path], post=False, seconds=seconds, headers=headers))
    return _wrk(base + path, None, [], seconds=seconds, headers=headers)


def _measure(report: Report, dialect: str, url: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-web-"))
    try:
        port = _free_port()
        cfg = _write_config(folder, url, port)
        paths = _prepare(cfg, folder)
        base = f"http://127.0.0.1:{port}"
        tool = "wrk" if shutil.which("wrk") else "httpx"
        # Each phase unsubscribes its own subscribers: no request hits the
        # cheaper already-unsubscribed path.
        third = (len(paths) - WARM_TOKENS) // 3
        warm = paths[:WARM_TOKENS]
        flat_out = paths[WARM_TOKENS : WARM_TOKENS + third]
        paced = paths[WARM_TOKENS + third : WARM_TOKENS + 2 * third]
        rotated = paths[WARM_TOKENS + 2 * third :]  # signed with the previous key
        # Each connection waits this long after an answer: together they offer
        # somewhat more than the target rate (the answer's own time and wrk's
        # timer come on top of the pause), without saturating the server.
        pace_ms = 1000.0 * PACED_CONNECTIONS / (TARGET_RPS * PACE_FACTOR)
        page_path = f"/issues/{SAMPLE}/"
        cpu: dict[str, float] = {}  # server CPU ms per request, by phase
        with _Server(cfg, port) as server:

            def timed(name: str, phase: Any, *args: Any, **kw: Any) -> Load:
                before = server.cpu_seconds()
                load: Load = phase(*args, **kw)
                cpu[name] = 1000 * (server.cpu_seconds() - before) / max(1, load.requests)
                return load

            # A short unrecorded warm-up: caches filled, connection pools open,
            # as on a server that has been up a while.
            _one_click(base, folder, tool, "warm", warm, seconds=WARM_SECONDS)
            top = timed("top", _one_click, base, folder, tool, "flat-out", flat_out)
            at_target = _one_click(base, folder, tool, "paced", paced, pace_ms=pace_ms)
            old_links = timed("old", _one_click, base, folder, tool, "rotated", rotated)
            _page(base, tool, page_path, seconds=WARM_SECONDS)
            page = _page(base, tool, page_path)
            cookie = {"Cookie": _session_cookie(base)}
            # /admin/ answers with a redirect once the session holds: the
            # session check is most of what it costs.
            progress = timed("session", _page, base, tool, "/admin/", headers=cookie)
        done = _unsubscribed(cfg)
        failed = top.failed + at_target.failed + old_links.failed
        report.add(
            "web",
            f"one-click unsubscribe, most, {dialect}",
            top.rps,
            "req/s",
            target=f">= {TARGET_RPS:.0f}",
            ok=top.rps >= TARGET_RPS and not failed,
            note=f"{tool}, {CONNECTIONS} conns flat out, {SECONDS} s, {top.requests:,} requests, "
            f"p99 {top.p99_ms:.0f} ms, server CPU {cpu['top']:.2f} ms/req, "
            f"{done:,} unsubscribed" + (f", {failed} FAILED" if failed else ""),
        )
        report.add(
            "web",
            f"one-click unsubscribe p99 at {at_target.rps:.0f} req/s, {dialect}",
            at_target.p99_ms,
            "ms",
            target=f"< {TARGET_P99_MS:.0f} at >= {TARGET_RPS:.0f}/s",
            ok=at_target.p99_ms < TARGET_P99_MS and at_target.rps >= TARGET_RPS * 0.98,
            note=f"{tool}, {PACED_CONNECTIONS} conns paced, {at_target.requests:,} requests, "
            f"p50 {at_target.p50_ms:.1f} ms",
        )
        # Before snapshots the page was built from the files: ~4,400 req/s, p99 7 ms.
        sqlite = dialect == "SQLite"
        report.add(
            "web",
            f"one-click unsubscribe, links signed by the previous key, most, {dialect}",
            old_links.rps,
            "req/s",
            target=f">= {TARGET_RPS:.0f}",
            ok=old_links.rps >= TARGET_RPS and not old_links.failed,
            note=f"{tool}, {CONNECTIONS} conns flat out, {old_links.requests:,} requests, "
            f"p99 {old_links.p99_ms:.0f} ms, server CPU {cpu['old']:.2f} ms/req"
            + (f", {old_links.failed} FAILED" if old_links.failed else ""),
        )
        report.add(
            "web",
            f"logged-in /admin/ (session check), {dialect}",
            progress.rps,
            "req/s",
            ok=not progress.failed,
            note=f"{tool}, {CONNECTIONS} conns flat out, {progress.requests:,} requests, "
            f"p99 {progress.p99_ms:.0f} ms, server CPU {cpu['session']:.2f} ms/req"
            + (f", {progress.failed} FAILED" if progress.failed else ""),
        )
        report.add(
            "web",
            f"archive page from the send's snapshot, {dialect}",
            page.rps,
            "req/s",
            target=f">= {ARCHIVE_RPS:,} and p99 < {ARCHIVE_P99_MS:.0f} ms" if sqlite else "",
            ok=(page.rps >= ARCHIVE_RPS and page.p99_ms < ARCHIVE_P99_MS and not page.failed)
            if sqlite
            else None,
            note=f"{tool}, {CONNECTIONS} conns flat out, {page.requests:,} requests, "
            f"p99 {page.p99_ms:.0f} ms" + (f", {page.failed} FAILED" if page.failed else ""),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pg_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


def run(report: Report) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-web-db-"))
    try:
        _measure(report, "SQLite", f"sqlite:///{folder / 'bench.db'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not _pg_available():
        report.add(
            "web", "one-click unsubscribe, PostgreSQL", 0, "req/s", note="no PostgreSQL server"
        )
        return
    import uuid

    from sqlalchemy import create_engine, text

    name = f"mailer_bench_web_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _measure(report, "PostgreSQL", f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    from bench import subscribers_page

    subscribers_page.run(report)


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
