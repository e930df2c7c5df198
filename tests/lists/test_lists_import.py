"""CSV import: every bad-input promise, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import Subscriber, Subscription
from mailer.errors import ImportFileError
from mailer.lists import people
from mailer.lists.importer import Reject, import_csv
from mailer.status import SuppressionReason
from tests.support.lists import write_csv

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
        (5, "the name must be one line of text"),  # it goes into the To header
        (7, "3 fields but the header has 2"),
        (10, "'bad@example.test' is not a valid email address"),
    ]
    assert (report.rows, report.added, report.rejected) == (7, 2, 5)
    assert set(_statuses(lists_db, "weekly")) == {"ok1@example.org", "ok2@example.org"}
    with rejects.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["line", "reason", "email", "name"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5", "7", "10"]
    assert rows[3][2:] == ["multi@example.org", "Multi\nLine"]
    assert rows[4][2:] == ["extra@example.org", "Four", "surplus"]


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
    # Once "1 rows read, added 1": the later rows vanished into a1's name.
    "unclosed quote": (
        b'email,name\na1@example.org,"Unclosed\nb2@example.org,B\nc3@example.org,C\n',
        "line 2: a quoted field opened on this line is never closed",
    ),
    "unclosed quote without a final newline": (
        b'email,name\nok@example.org,Ok\n"a1@example.org,A',
        "line 3: a quoted field opened on this line is never closed",
    ),
    "unclosed quote in the header": (b'email,"name\na@example.org,A\n', "line 1: a quoted"),
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


def test_closed_multi_line_field_at_the_end_without_newline_is_fine(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "m.csv", 'email,note\nok@example.org,Ok\nz@example.org,"Multi\nLine"'
    )
    report = import_csv(lists_db, settings, path, "weekly")
    assert (report.rows, report.added, report.rejected) == (2, 2, 0)
    with lists_db.session() as s:
        z = store.find_subscriber(s, "z@example.org")
        assert z is not None and z.attributes == {"note": "Multi\nLine"}


def test_rejects_name_physical_lines_after_multi_line_records(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "email,city\n"
        'a@example.org,"Gent\nOost\nVlaanderen"\n'  # lines 2-4
        "\n"  # line 5
        "bad,x\n"  # line 6
        'b@example.org,"x\ny"\n'  # lines 7-8
        "bad2,x\n"  # line 9
    )
    seen: list[Reject] = []
    import_csv(
        lists_db, settings, write_csv(tmp_path / "p.csv", text), "weekly", on_reject=seen.append
    )
    assert [r.line for r in seen] == [6, 9]


def test_header_text_rules_for_names_and_addresses(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    text = (
        "email,name\n"
        "ok@example.org,Ok\n"
        "ctl@example.org,Ann\u2028Bcc: x@evil.example\n"
        "bell@example.org,Ann\x07\n"
        "long@example.org," + "A" * 201 + "\n" + "a" * 65 + "@example.org,Long local\n"
        "idn@bücher.example,Idn\n"
        "zoë@example.org,Zoë\n"
    )
    seen: list[Reject] = []
    notices: list[Reject] = []
    report = import_csv(
        lists_db,
        settings,
        write_csv(tmp_path / "n.csv", text),
        "weekly",
        on_reject=seen.append,
        on_notice=notices.append,
    )
    assert [(r.line, r.reason) for r in seen[:3]] == [
        (3, "the name must be one line of text: holds a line break (U+2028) at character 4"),
        (4, "the name must be one line of text: holds a control character (U+0007) at character 4"),
        (5, "the name is longer than 200 characters"),
    ]
    assert seen[3].line == 6 and "65 bytes long, more than 64" in seen[3].reason
    assert len(seen) == 4
    # Kept, and flagged now rather than discovered at send time.
    assert [(n.line, n.reason.split(":")[0]) for n in notices] == [(8, "warning")]
    assert "zoë@example.org" in notices[0].reason and "SMTPUTF8" in notices[0].reason
    assert report.smtputf8 == 1
    assert "1 need SMTPUTF8" in report.summary()
    assert set(_statuses(lists_db, "weekly")) == {
        "ok@example.org",
        "idn@bücher.example",
        "zoë@example.org",
    }


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-3",
    "@SUM(A1)",
    "\tTab",
    "'=quoted",
    "plain",
]


def test_exports_neutralise_formulas_and_reimport_them_exactly(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    from mailer.lists.exporter import export_csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "note"])
    for i, value in enumerate(FORMULAS):
        writer.writerow([f"p{i}@example.org", value, value])
    writer.writerow(["=x@example.org", "Eq", ""])
    import_csv(lists_db, settings, write_csv(tmp_path / "f.csv", out.getvalue()), "weekly")
    exported = io.StringIO()
    export_csv(lists_db, "weekly", exported)
    rows = list(csv.DictReader(io.StringIO(exported.getvalue())))
    by_email = {r["email"]: r for r in rows}
    for row in rows:
        for key, value in row.items():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), (key, value)
    assert by_email["'=x@example.org"]["name"] == "Eq"
    assert by_email["p0@example.org"]["name"] == "'" + FORMULAS[0]
    assert by_email["p5@example.org"]["note"] == "''=quoted"
    assert by_email["p6@example.org"]["name"] == "plain"
    # An export imported again gives back exactly what was stored.
    report = import_csv(
        lists_db, settings, write_csv(tmp_path / "e.csv", exported.getvalue()), "daily"
    )
    assert report.added == len(FORMULAS) + 1 and report.rejected == 0
    with lists_db.session() as s:
        for i, value in enumerate(FORMULAS):
            person = store.find_subscriber(s, f"p{i}@example.org")
            assert person is not None
            assert (person.name, person.attributes.get("note")) == (value.strip(), value.strip())
        assert store.find_subscriber(s, "=x@example.org") is not None


def test_rejects_file_neutralises_formulas(
    lists_db: Database, settings: Settings, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    text = "email,name\n=cmd|' /C calc'!A0,=HYPERLINK(1)\n"
    import_csv(
        lists_db, settings, write_csv(tmp_path / "r.csv", text), "weekly", rejects_path=rejects
    )
    with rejects.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][2:] == ["'=cmd|' /C calc'!A0", "'=HYPERLINK(1)"]
    assert rows[1][1][:1] not in ("=", "+", "-", "@")
