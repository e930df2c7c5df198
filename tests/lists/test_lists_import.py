"""CSV import: every bad-input promise, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from lists_helpers import write_csv  # type: ignore[import-not-found]
from sqlalchemy import func, select

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import Subscriber, Subscription, SuppressionReason
from mailer.lists import people
from mailer.lists.importer import ImportFileError, Reject, import_csv

GOOD = """email,name,city
ann@example.org,Ann,Gent
Bob@Example.COM,Bob,
carol@example.net,,Leuven
"""


def _snapshot(db: Database) -> list[tuple[object, ...]]:
    """Every subscriber and subscription, to compare before and after."""
    with db.session() as s:
        subs = s.execute(
            select(
                Subscriber.email, Subscriber.name, Subscriber.attributes, Subscriber.updated_at
            ).order_by(Subscriber.email)
        ).all()
        rows = s.execute(
            select(
                Subscription.list_id,
                Subscription.subscriber_id,
                Subscription.status,
                Subscription.status_changed_at,
            ).order_by(Subscription.list_id, Subscription.subscriber_id)
        ).all()
    return [tuple(r) for r in subs] + [tuple(r) for r in rows]


def _statuses(db: Database, slug: str) -> dict[str, str]:
    with db.session() as s:
        lst = store.get_list(s, slug)
        rows = s.execute(
            select(Subscriber.email, Subscription.status)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == lst.id)
        ).all()
    return {e: st for e, st in rows}


def test_good_file_imports_with_attributes(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    report = import_csv(lists_db, settings, write_csv(tmp_path / "a.csv", GOOD), "weekly")
    assert (report.rows, report.added, report.rejected, report.rejects_file) == (3, 3, 0, None)
    assert _statuses(lists_db, "weekly") == {
        "ann@example.org": "active",
        "Bob@example.com": "active",
        "carol@example.net": "active",
    }
    with lists_db.session() as s:
        ann = store.find_subscriber(s, "ann@example.org")
        bob = store.find_subscriber(s, "bob@example.com")
        assert ann is not None and bob is not None
        assert (ann.name, ann.attributes, ann.source) == ("Ann", {"city": "Gent"}, "import:a.csv")
        assert bob.attributes == {}  # empty cells are not stored


def test_bad_rows_reported_with_line_and_reason_good_rows_kept(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "email,name\n"
        "ok1@example.org,One\n"
        "not-an-address,Two\n"
        ",Three\n"
        '"multi@example.org","Multi\nLine"\n'
        "extra@example.org,Four,surplus\n"
        "\n"
        "ok2@example.org,Five\n"
        "bad@example.test,Six\n"
    )
    seen: list[Reject] = []
    rejects = tmp_path / "out" / "rejects.csv"
    report = import_csv(
        lists_db,
        settings,
        write_csv(tmp_path / "b.csv", text),
        "weekly",
        rejects_path=rejects,
        on_reject=seen.append,
    )
    assert [(r.line, r.reason.split(":")[0]) for r in seen] == [
        (3, "'not-an-address' is not a valid email address"),
        (4, "the email is empty"),
        (7, "3 fields but the header has 2"),
        (10, "'bad@example.test' is not a valid email address"),
    ]
    assert (report.rows, report.added, report.rejected) == (7, 3, 4)
    assert set(_statuses(lists_db, "weekly")) == {
        "ok1@example.org",
        "ok2@example.org",
        "multi@example.org",
    }
    with rejects.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["line", "reason", "email", "name"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "7", "10"]
    assert rows[3][2:] == ["extra@example.org", "Four", "surplus"]


def test_reimport_changes_nothing(lists_db: Database, settings: Settings, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD + "ANN@example.org,Ann,Gent\n")
    first = import_csv(lists_db, settings, path, "weekly")
    assert (first.added, first.duplicates) == (3, 1)
    before = _snapshot(lists_db)
    second = import_csv(lists_db, settings, path, "weekly")
    assert (second.added, second.already, second.updated_people) == (0, 3, 0)
    assert _snapshot(lists_db) == before


def test_duplicates_merge_within_file_and_with_existing(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    people.add(lists_db, settings, "daily", "ann@example.org", name="", attributes={"vip": "yes"})
    text = "email,name,city\nann@example.org,Ann,Gent\nANN@EXAMPLE.ORG,,Brugge\n"
    report = import_csv(lists_db, settings, write_csv(tmp_path / "d.csv", text), "weekly")
    assert (report.added, report.duplicates, report.updated_people) == (1, 1, 1)
    with lists_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 1
        ann = store.find_subscriber(s, "ann@example.org")
        assert ann is not None
        assert (ann.name, ann.attributes) == ("Ann", {"vip": "yes", "city": "Brugge"})


def test_never_resurrects_unsubscribed_or_suppressed(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    import_csv(lists_db, settings, path, "weekly")
    people.unsubscribe(lists_db, "ann@example.org", "weekly", "link")
    with lists_db.session() as s:
        store.suppress(s, "carol@example.net", SuppressionReason.HARD_BOUNCE)
    people.forget(lists_db, "bob@example.com")
    report = import_csv(lists_db, settings, path, "weekly")
    assert (report.kept_unsubscribed, report.suppressed, report.added) == (1, 2, 0)
    assert _statuses(lists_db, "weekly") == {
        "ann@example.org": "unsubscribed",
        "carol@example.net": "active",  # suppressed: never mailed, see export test
    }
    # A list they were never on gets no subscription for a suppressed address.
    report = import_csv(lists_db, settings, path, "daily")
    assert (report.added, report.suppressed) == (1, 2)
    assert _statuses(lists_db, "daily") == {"ann@example.org": "active"}
    with lists_db.session() as s:
        assert store.find_subscriber(s, "bob@example.com") is None  # forgotten stays gone


def test_dry_run_counts_exactly_and_changes_nothing(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    before = _snapshot(lists_db)
    report = import_csv(
        lists_db, settings, write_csv(tmp_path / "a.csv", GOOD + "x@@y\n"), "weekly", dry_run=True
    )
    assert (report.added, report.rejected, report.dry_run) == (3, 1, True)
    assert _snapshot(lists_db) == before


def test_exported_file_reimports_as_the_same_people(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    from mailer.lists.exporter import export_csv

    import_csv(lists_db, settings, write_csv(tmp_path / "a.csv", GOOD), "weekly")
    out = io.StringIO()
    export_csv(lists_db, "weekly", out)
    report = import_csv(lists_db, settings, write_csv(tmp_path / "e.csv", out.getvalue()), "daily")
    assert (report.added, report.updated_people) == (3, 0)  # status etc. not turned into attributes


# --- bad files: a clear error, the database unchanged -----------------------------

BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "the file is empty"),
    "blank header": (b"\n\nann@example.org\n", "header line is empty"),
    "no email column": (b"name,city\nAnn,Gent\n", "no email column (the header is: name, city)"),
    "latin-1": (
        "email,name\nok@example.org,Ok\nrene@example.org,René\n".encode("latin-1"),
        "line 3: not valid utf-8 text (byte 0xe9",
    ),
    "binary": (bytes(range(256)) * 40, "binary file"),
    "nul later": (
        b"email\n" + b"a@example.org\n" * 1000 + b"b@exam\x00ple.org\n",
        "line 1002: contains NUL bytes",
    ),
    "utf-16": ("email\nann@example.org\n".encode("utf-16"), "UTF-16"),
    "10 MB line": (
        b"email,name\nok@example.org,Ok\nlong@example.org," + b"x" * 10_000_000 + b"\n",
        "line 3: longer than 1,000,000 bytes",
    ),
    "duplicate column": (b"email,name,Name\na@example.org,A,B\n", "column 'Name' appears twice"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_a_clear_error_and_writes_nothing(
    case: str, lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    import_csv(lists_db, settings, write_csv(tmp_path / "first.csv", GOOD), "daily")
    before = _snapshot(lists_db)
    data, message = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(ImportFileError) as err:
        import_csv(lists_db, settings, path, "weekly", rejects_path=rejects, batch_rows=100)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert _snapshot(lists_db) == before
    assert not rejects.exists() and not list(tmp_path.glob("*.part"))


def test_error_late_in_a_big_file_rolls_back_earlier_batches(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    lines = [f"p{i}@example.org" for i in range(2500)]
    data = ("email\n" + "\n".join(lines) + "\n").encode() + b"caf\xe9@example.org\n"
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match="line 2502"):
        import_csv(lists_db, settings, path, "weekly", batch_rows=500)
    assert _statuses(lists_db, "weekly") == {}
    # The same file in its real encoding imports fine.
    report = import_csv(lists_db, settings, path, "weekly", encoding="latin-1", batch_rows=500)
    assert report.added == 2501
    with lists_db.session() as s:
        assert store.find_subscriber(s, "café@example.org") is not None


def test_semicolons_and_bom_are_understood(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    text = "\ufeffE-mail;Name;City\nann@example.org;Ann;Gent\n"
    report = import_csv(lists_db, settings, write_csv(tmp_path / "s.csv", text), "weekly")
    assert report.added == 1
    with lists_db.session() as s:
        ann = store.find_subscriber(s, "ann@example.org")
        assert ann is not None and ann.attributes == {"City": "Gent"}


def test_imported_rows_read_back_with_their_timestamps(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    import_csv(lists_db, settings, write_csv(tmp_path / "a.csv", GOOD), "weekly")
    with lists_db.session() as s:
        ann = store.find_subscriber(s, "ann@example.org")
        assert ann is not None
        lst = store.get_list(s, "weekly")
        sub = store.get_subscription(s, lst.id, ann.id)
        assert sub is not None
        # Written by the driver-level bulk insert and by SQLAlchemy: same instant.
        assert ann.created_at == ann.updated_at == sub.created_at
        assert ann.created_at.microsecond == sub.status_changed_at.microsecond


def test_interrupted_import_rolls_back_and_stops_the_parser(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    import threading

    rows = "".join(f"p{i}@example.org\n" if i != 1500 else "bad@@x\n" for i in range(3000))
    path = write_csv(tmp_path / "big.csv", "email\n" + rows)

    def interrupt(reject: Reject) -> None:
        raise KeyboardInterrupt  # as if the operator pressed Ctrl-C mid-import

    with pytest.raises(KeyboardInterrupt):
        import_csv(lists_db, settings, path, "weekly", batch_rows=500, on_reject=interrupt)
    assert _statuses(lists_db, "weekly") == {}
    assert not [t for t in threading.enumerate() if t.name == "csv-parser"]
