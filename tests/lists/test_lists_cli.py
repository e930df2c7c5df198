"""``mailer subscribers …`` end to end through the CLI (both databases)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import Subscriber, Suppression
from mailer.lists.addresses import email_hash
from tests.support.lists import write_csv
from tests.support.paths import ROOT

SAMPLE = ROOT / "lists" / "samples" / "china-ai2x.csv"


def _export(mailer_cli, *args: str) -> list[dict[str, str]]:
    result = mailer_cli("subscribers", "export", "--list", "weekly", *args)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_add_show_find_unsubscribe(mailer_cli, lists_db: Database) -> None:
    r = mailer_cli(
        "subscribers", "add", " Ann@Example.ORG ", "--list", "weekly", "--name", "Ann",
        "--attr", "city=Gent",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Ann@example.org is now active on weekly" in r.output
    show = mailer_cli("subscribers", "show", "ann@example.org")
    assert show.exit_code == 0, show.output
    assert "name:       Ann" in show.output
    assert "attribute:  city = Gent" in show.output
    assert "weekly: active" in show.output
    assert mailer_cli("subscribers", "find", "example.ORG").output.startswith(
        "Ann@example.org\tAnn"
    )
    assert mailer_cli("subscribers", "find", "nobody").exit_code == 1
    r = mailer_cli("subscribers", "unsubscribe", "ann@example.org", "--list", "weekly")
    assert r.exit_code == 0 and "unsubscribed from 1 list" in r.output
    assert "weekly: unsubscribed" in mailer_cli("subscribers", "show", "ann@example.org").output
    # The operator cannot put them back; only they can, via a confirmation.
    again = mailer_cli("subscribers", "add", "ann@example.org", "--list", "weekly")
    assert again.exit_code == 1
    assert "only they can subscribe again" in again.output


def test_bad_input_is_one_line_error(mailer_cli, lists_db: Database) -> None:
    r = mailer_cli("subscribers", "add", "ann@@example.org", "--list", "weekly")
    assert r.exit_code == 1 and r.output.startswith("Error: ") and "Traceback" not in r.output
    r = mailer_cli("subscribers", "add", "ann@example.org", "--list", "nope")
    assert r.exit_code == 1 and "no list 'nope'" in r.output
    r = mailer_cli("subscribers", "show", "ghost@example.org")
    assert r.exit_code == 1 and "no subscriber" in r.output
    r = mailer_cli("subscribers", "unsubscribe", "ann@example.org")
    assert r.exit_code == 2 and "--list SLUG or --all" in r.output


def test_suppress_excludes_from_export_active(mailer_cli, lists_db: Database) -> None:
    for who in ("a@example.org", "b@example.org", "c@example.org"):
        assert mailer_cli("subscribers", "add", who, "--list", "weekly").exit_code == 0
    r = mailer_cli("subscribers", "suppress", "B@example.org", "--detail", "asked by phone")
    assert r.exit_code == 0, r.output
    active = _export(mailer_cli, "--status", "active")
    assert [row["email"] for row in active] == ["a@example.org", "c@example.org"]
    everyone = _export(mailer_cli)
    assert {row["email"]: row["suppressed"] for row in everyone} == {
        "a@example.org": "",
        "b@example.org": "manual",
        "c@example.org": "",
    }
    assert next(iter(everyone[0])) == "email"
    # The active export is exactly what a send reads.
    with lists_db.session() as s:
        lst = store.get_list(s, "weekly")
        send = [r.email for page in store.iter_recipients(s, lst.id) for r in page]
    assert send == [row["email"] for row in active]
    assert mailer_cli("subscribers", "unsuppress", "b@example.org").exit_code == 0
    assert len(_export(mailer_cli, "--status", "active")) == 3
    assert mailer_cli("subscribers", "unsuppress", "b@example.org").exit_code == 1


def test_forget_keeps_only_the_hash_and_never_mails_again(
    mailer_cli, lists_db: Database, tmp_path: Path
) -> None:
    addr = "Gone@example.org"
    mailer_cli("subscribers", "add", addr, "--list", "weekly", "--name", "Gone Person")
    r = mailer_cli("subscribers", "forget", addr, "--yes")
    assert r.exit_code == 0 and "erased" in r.output
    with lists_db.session() as s:
        assert s.scalars(select(Subscriber)).all() == []
        (row,) = s.scalars(select(Suppression)).all()
        assert (row.email_hash, row.email, row.reason) == (email_hash(addr), None, "forgotten")
    # Nothing brings them back: not an import, not the operator, not unsuppress.
    csv_path = write_csv(tmp_path / "again.csv", f"email,name\n{addr.lower()},Gone Person\n")
    r = mailer_cli("subscribers", "import", str(csv_path), "--list", "weekly")
    assert r.exit_code == 0, r.output
    assert "1 suppressed (skipped)" in r.output
    assert mailer_cli("subscribers", "add", addr, "--list", "weekly").exit_code == 1
    assert mailer_cli("subscribers", "unsuppress", addr).exit_code == 1
    assert _export(mailer_cli, "--status", "active") == []
    assert "no personal data" in mailer_cli("subscribers", "show", addr).output


def test_import_sample_file_reports_rejects(mailer_cli, lists_db: Database, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    r = mailer_cli(
        "subscribers", "import", str(SAMPLE), "--list", "weekly", "--rejects", str(rejects)
    )
    assert r.exit_code == 0, r.output
    bad_lines = [ln for ln in r.stderr.splitlines() if ln.startswith(f"{SAMPLE}:")]
    assert [ln.split(":")[1] for ln in bad_lines] == ["12", "14", "20", "25"]
    assert "added 22 to weekly" in r.stdout and "4 rejected" in r.stdout
    assert f"rejected rows written to {rejects}" in r.stdout
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 5
    again = mailer_cli("subscribers", "import", str(SAMPLE), "--list", "weekly", "--quiet")
    assert "added 0 to weekly, 22 already subscribed" in again.stdout
    assert again.stderr == ""


def test_import_bad_file_and_dry_run(mailer_cli, lists_db: Database, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", "name\nAnn\n")
    r = mailer_cli("subscribers", "import", str(bad), "--list", "weekly")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith(f"Error: {bad}: header: no email column")
    assert "nothing was imported" in r.stderr
    r = mailer_cli("subscribers", "import", str(SAMPLE), "--list", "weekly", "--dry-run")
    assert r.exit_code == 0 and "dry run (nothing changed)" in r.stdout
    assert "would add 22" in r.stdout
    assert _export(mailer_cli) == []


def test_export_to_file(mailer_cli, lists_db: Database, tmp_path: Path) -> None:
    mailer_cli("subscribers", "add", "a@example.org", "--list", "weekly", "--attr", "tier=gold")
    out = tmp_path / "out.csv"
    r = mailer_cli(
        "subscribers", "export", "--list", "weekly", "--status", "active", "--out", str(out)
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [(x["email"], x["tier"], x["status"]) for x in rows] == [
        ("a@example.org", "gold", "active")
    ]
    assert not list(tmp_path.glob("*.part"))


def test_export_active_is_who_a_send_freezes(mailer_cli, lists_db: Database) -> None:
    from mailer.clock import utcnow
    from mailer.db import outbox
    from mailer.db.models import Recipient, Send
    from mailer.status import SendStatus

    for who in ("a@example.org", "b@example.org", "c@example.org", "d@example.org"):
        mailer_cli("subscribers", "add", who, "--list", "weekly")
    mailer_cli("subscribers", "suppress", "b@example.org")
    mailer_cli("subscribers", "unsubscribe", "c@example.org", "--list", "weekly")
    mailer_cli("subscribers", "add", "e@example.org", "--list", "daily")
    with lists_db.session() as s:
        lst = store.get_list(s, "weekly")
        send = Send(
            issue_slug="x", list_id=lst.id, subject="x", status=SendStatus.SCHEDULED,
            created_at=utcnow(),
        )  # fmt: skip
        s.add(send)
        s.flush()
        outbox.start_send(s, send.id, utcnow())
        frozen = sorted(s.scalars(select(Recipient.email).where(Recipient.send_id == send.id)))
    exported = sorted(row["email"] for row in _export(mailer_cli, "--status", "active"))
    assert exported == frozen == ["a@example.org", "d@example.org"]


def test_add_refuses_names_that_cannot_be_headers(mailer_cli, lists_db: Database) -> None:
    for name, message in [
        (
            "Ann\nBcc: x@evil.example",
            "the name must be one line of text: holds a line break (U+000A)",
        ),
        ("Ann\u2028Bcc", "holds a line break (U+2028)"),
        ("Ann\x07", "holds a control character (U+0007)"),
        ("A" * 3000, "the name is longer than 200 characters"),
    ]:
        r = mailer_cli("subscribers", "add", "ann@example.org", "--list", "weekly", "--name", name)
        assert r.exit_code == 1, r.output
        assert r.output.startswith("Error: ") and message in r.output
        assert len(r.output.strip().splitlines()) == 1
    assert mailer_cli("subscribers", "show", "ann@example.org").exit_code == 1
