"""Lists benchmark: import a generated CSV, then stream the active recipients.

For each database (a temporary SQLite file; a fresh PostgreSQL database,
created and dropped here) and each size (100k and 1M rows, 1% invalid), two
measurements, each in its own subprocess so its peak RSS is its own:

- import: ``import_csv`` of the whole file into a list (one transaction);
- stream: every active recipient of the list, read in pages of 1,000 by
  keyset pagination on subscriber id (joined with subscriptions, suppressions
  excluded) in one read transaction: ``mailer.db.subscribers.iter_recipients``.

``python -m bench lists`` runs it; ``python -m bench.lists worker …`` is the
subprocess entry point.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.report import Report, peak_rss_mb

SIZES = (100_000, 1_000_000)
INVALID_RATE = 0.01
STREAM_PAGE = 1000
PG_ADMIN_URL = os.environ.get(
    "MAILER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IMPORT_TARGET_S = 60.0
STREAM_TARGET_S = 10.0
RSS_TARGET_MB = 300.0

_CITIES = ["Gent", "Leuven", "Beijing", "Shenzhen", "Amsterdam", "Lyon", "Berlin", "Osaka"]


def generate_csv(path: Path, rows: int, seed: int = 7) -> int:
    """Write ``rows`` subscriber rows (1% invalid addresses); return how many are invalid."""
    rng = random.Random(seed)
    invalid = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email,name,city,plan\n")
        for i in range(rows):
            if rng.random() < INVALID_RATE:
                invalid += 1
                email = rng.choice([f"user{i}.example.org", f"user..{i}@example.org", f"u{i}@"])
            else:
                email = f"User.{i}@Example{i % 97}.org"
            fh.write(f"{email},Person {i},{_CITIES[i % 8]},{'pro' if i % 5 == 0 else 'free'}\n")
    return invalid


def _prepare(url: str) -> None:
    from mailer.db import Database
    from mailer.db import subscribers as store

    db = Database(url)
    db.upgrade()
    with db.session() as s:
        store.upsert_list(
            s,
            "bench",
            {
                "name": "Bench",
                "description": "",
                "from_name": "Bench",
                "from_email": "bench@example.org",
                "reply_to": "",
                "language": "en",
                "template": "default",
                "double_opt_in": False,
                "postal_address": "Nowhere 1",
            },
        )
    db.dispose()


def worker(phase: str, url: str, csv_path: str) -> dict[str, float]:
    """Run one measured phase in this process; return its figures."""
    from mailer.config import Settings
    from mailer.db import Database
    from mailer.db import subscribers as store
    from mailer.lists.importer import import_csv

    db = Database(url)
    settings = Settings()
    settings.database.url = url
    settings.paths.var_dir = str(Path(csv_path).parent / "var")
    started = time.perf_counter()
    if phase == "import":
        report = import_csv(db, settings, Path(csv_path), "bench")
        out = {"added": report.added, "rejected": report.rejected}
    else:
        count = 0
        # One read transaction: every page from the same snapshot of the list.
        with db.session() as s:
            list_id = store.get_list(s, "bench").id
            for page in store.iter_recipients(s, list_id, batch_size=STREAM_PAGE):
                count += len(page)
        out = {"count": count}
    seconds = time.perf_counter() - started
    db.dispose()
    return {**out, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def _run_worker(phase: str, url: str, csv_path: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.lists", "worker", phase, url, str(csv_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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


class _PgDatabase:
    """A fresh PostgreSQL database, dropped on exit."""

    def __enter__(self) -> str:
        from sqlalchemy import create_engine, text

        self.name = f"mailer_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{self.name}"

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _measure(report: Report, dialect: str, url: str, rows: int, csv_path: Path) -> None:
    _prepare(url)
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    imp = _run_worker("import", url, csv_path)
    expected = rows - int(imp["rejected"])
    big = rows >= 1_000_000
    report.add(
        "lists",
        f"import {label} rows, {dialect}",
        imp["seconds"],
        "s",
        target=f"< {IMPORT_TARGET_S:.0f} s" if big else "",
        ok=(imp["seconds"] < IMPORT_TARGET_S and imp["added"] == expected) if big else None,
        note=f"{int(imp['added']):,} added, {int(imp['rejected']):,} rejected, "
        f"{rows / imp['seconds']:,.0f} rows/s",
    )
    report.add(
        "lists",
        f"import {label} peak RSS, {dialect}",
        imp["peak_rss_mb"],
        "MB",
        target=f"< {RSS_TARGET_MB:.0f} MB",
        ok=imp["peak_rss_mb"] < RSS_TARGET_MB,
    )
    stream = _run_worker("stream", url, csv_path)
    report.add(
        "lists",
        f"stream {label} recipients, {dialect}",
        stream["seconds"],
        "s",
        target=f"< {STREAM_TARGET_S:.0f} s" if big else "",
        ok=(stream["seconds"] < STREAM_TARGET_S and stream["count"] == expected) if big else None,
        note=f"{int(stream['count']):,} in pages of {STREAM_PAGE}, "
        f"{stream['count'] / stream['seconds']:,.0f}/s",
    )
    report.add(
        "lists",
        f"stream {label} peak RSS, {dialect}",
        stream["peak_rss_mb"],
        "MB",
        target=f"< {RSS_TARGET_MB:.0f} MB",
        ok=stream["peak_rss_mb"] < RSS_TARGET_MB,
    )


def run(report: Report, sizes: tuple[int, ...] = SIZES) -> None:
    """Import and stream at each size on SQLite and (when available) PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="mailer-bench-lists-") as tmp:
        workdir = Path(tmp)
        files = {}
        for rows in sizes:
            files[rows] = workdir / f"subscribers-{rows}.csv"
            generate_csv(files[rows], rows)
        for rows in sizes:
            db_file = workdir / f"bench-{rows}.db"
            _measure(report, "SQLite", f"sqlite:///{db_file}", rows, files[rows])
            db_file.unlink(missing_ok=True)
        if not _pg_available():
            report.add("lists", "PostgreSQL", 0, "", note=f"skipped: no server at {PG_ADMIN_URL}")
            return
        for rows in sizes:
            with _PgDatabase() as url:
                _measure(report, "PostgreSQL", url, rows, files[rows])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        r = Report()
        run(r, tuple(int(a) for a in sys.argv[1:]) or SIZES)
        r.print()
