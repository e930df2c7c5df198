"""Two imports at once: no duplicates, no deadlock, nothing lost (both databases)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import Subscriber, Subscription
from mailer.lists.importer import ImportReport, import_csv
from tests.support.lists import write_csv


def _file(path: Path, start: int, stop: int, reverse: bool = False) -> Path:
    ids = list(range(start, stop))
    if reverse:
        ids.reverse()
    body = "".join(f"person{i}@example.org,Person {i}\n" for i in ids)
    return write_csv(path, "email,name\n" + body)


def _run_together(db_url: str, settings: Settings, jobs: list[tuple[Path, str]]) -> list[object]:
    results: list[object] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def work(i: int, path: Path, slug: str) -> None:
        database = Database(db_url)  # its own engine and connections, like another process
        try:
            barrier.wait()
            results[i] = import_csv(database, settings, path, slug, batch_rows=250)
        except Exception as exc:
            results[i] = exc
        finally:
            database.dispose()

    threads = [
        threading.Thread(target=work, args=(i, path, slug)) for i, (path, slug) in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    return results


def test_same_file_twice_at_once_creates_no_duplicates(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = _file(tmp_path / "people.csv", 0, 3000)
    a, b = _run_together(lists_db.url, settings, [(path, "weekly"), (path, "weekly")])
    assert isinstance(a, ImportReport) and isinstance(b, ImportReport), (a, b)
    assert sorted([a.added, b.added]) == [0, 3000]
    assert a.already + b.already == 3000
    with lists_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 3000
        assert s.scalar(select(func.count()).select_from(Subscription)) == 3000


def test_overlapping_files_into_two_lists_at_once(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    # Opposite orders over a shared range: the classic recipe for a deadlock.
    one = _file(tmp_path / "one.csv", 0, 2000)
    two = _file(tmp_path / "two.csv", 1000, 3000, reverse=True)
    a, b = _run_together(lists_db.url, settings, [(one, "weekly"), (two, "daily")])
    assert isinstance(a, ImportReport) and isinstance(b, ImportReport), (a, b)
    assert (a.added, b.added) == (2000, 2000)
    with lists_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 3000
        counts = {c.slug: c.active for c in store.list_counts(s)}
    assert counts == {"daily": 2000, "weekly": 2000}
