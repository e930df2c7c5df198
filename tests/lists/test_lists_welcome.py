"""Welcome mail: sent once when a subscription becomes active, through the worker's queue."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer import links
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import QueuedMail
from mailer.deliver.worker import Worker
from mailer.errors import ConflictError, ValidationError
from mailer.lists import people, welcome
from mailer.lists.addresses import email_hash
from mailer.lists.files import load_list_files, sync_lists
from mailer.lists.importer import import_csv
from mailer.lists.optin import confirm, resubscribe_by_token, subscribe, unsubscribe_by_token
from tests.support.deliver import body_of
from tests.support.lists import DAILY, WEEKLY, write_csv
from tests.support.paths import ROOT

MESSAGE = """
subject = "Welcome to the Weekly Briefing"
preheader = "What to expect."
body_file = "welcome.md"
"""
BODY = "# Hello %%subscriber.name%%\n\nThanks for joining. Every Monday, one email.\n"


@pytest.fixture
def welcome_db(db: Database, settings: Settings, lists_dir: Path) -> Database:
    """The weekly (double opt-in) and daily (single) lists, both with a welcome folder."""
    for slug, text in (("weekly", WEEKLY), ("daily", DAILY)):
        folder = lists_dir / "welcome" / slug
        folder.mkdir(parents=True)
        (folder / "message.toml").write_text(MESSAGE, encoding="utf-8")
        (folder / "welcome.md").write_text(BODY, encoding="utf-8")
        (lists_dir / f"{slug}.toml").write_text(
            text + f'welcome = "welcome/{slug}"\n', encoding="utf-8"
        )
    sync_lists(db, settings)
    return db


def delivered(db: Database, settings: Settings, outbox: Path) -> list[EmailMessage]:
    """Run the worker once; every message in the outbox, oldest first."""
    Worker(settings, db).run(once=True)
    files = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def welcomes(messages: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in messages if str(m["Subject"]).startswith("Welcome")]


def plain(message: EmailMessage) -> str:
    return body_of(message, "plain")


def confirm_token(message: EmailMessage) -> str:
    (url,) = {w for w in plain(message).split() if "/confirm/" in w}
    return url.rsplit("/", 1)[1]


def queued_welcomes(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).where(QueuedMail.kind == "welcome")) or 0)


def test_confirmation_sends_the_welcome_once(
    welcome_db: Database, settings: Settings, outbox: Path
) -> None:
    subscribe(welcome_db, settings, "weekly", "reader@example.org", name="Rea")
    [confirmation] = delivered(welcome_db, settings, outbox)
    assert welcomes([confirmation]) == []
    token = confirm_token(confirmation)
    confirm(welcome_db, settings, token)
    [welcome_mail] = welcomes(delivered(welcome_db, settings, outbox))
    assert welcome_mail["To"] == "Rea <reader@example.org>"
    assert welcome_mail["Subject"] == "Welcome to the Weekly Briefing"
    assert "editors@example.org" in welcome_mail["From"]
    text = plain(welcome_mail)
    assert "Hello Rea" in text and "Every Monday" in text
    # A list mail like any other: signed one-click unsubscribe, in the header and the body.
    unsubscribe = welcome_mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://news.example.org/u/")
    assert welcome_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text
    token_data = links.read_token(settings, "unsubscribe", unsubscribe.rsplit("/", 1)[1])
    assert token_data == links.ListToken("weekly", email_hash("reader@example.org"))
    # Clicking the link again, unsubscribing and coming back: still one welcome.
    confirm(welcome_db, settings, token)
    unsubscribe_by_token(welcome_db, token_data)
    resubscribe_by_token(welcome_db, token_data)
    assert len(welcomes(delivered(welcome_db, settings, outbox))) == 1
    assert queued_welcomes(welcome_db) == 1


def test_welcome_is_recorded_with_the_subscription(
    welcome_db: Database, settings: Settings, outbox: Path
) -> None:
    subscribe(welcome_db, settings, "daily", "solo@example.org")  # single opt-in: active at once
    profile = people.show(welcome_db, "solo@example.org")
    [(lst, sub)] = profile.subscriptions
    assert (lst.slug, sub.status) == ("daily", "active")
    assert sub.welcomed_at is not None
    with welcome_db.session() as s:
        row = s.scalars(select(QueuedMail).where(QueuedMail.kind == "welcome")).one()
        assert (row.to_email, row.list_id, row.subscriber_id) == (
            "solo@example.org",
            lst.id,
            profile.subscriber.id if profile.subscriber else None,
        )
    # ...and in the subscriber's history, by the system, on that list.
    lines = [
        h for h in people.history(welcome_db, "solo@example.org") if h.action == "welcome queued"
    ]
    assert [(h.actor, h.list_slug) for h in lines] == [("system", "daily")]
    [message] = delivered(welcome_db, settings, outbox)
    # The daily list speaks Dutch: the template's own words follow the list.
    assert "Uitschrijven" in plain(message)


def test_add_welcomes_only_when_asked(welcome_db: Database, settings: Settings) -> None:
    said = people.add(welcome_db, settings, "weekly", "quiet@example.org")
    assert said == "quiet@example.org is now active on weekly"
    assert queued_welcomes(welcome_db) == 0
    said = people.add(welcome_db, settings, "weekly", "new@example.org", welcome=True)
    assert said == "new@example.org is now active on weekly; welcome mail queued"
    # Asking again for someone already welcomed does not send a second one.
    people.add(welcome_db, settings, "weekly", "new@example.org", welcome=True)
    assert queued_welcomes(welcome_db) == 1


def test_add_with_welcome_on_a_list_without_one_changes_nothing(
    lists_db: Database, settings: Settings
) -> None:
    with pytest.raises(ConflictError, match="weekly has no welcome message"):
        people.add(lists_db, settings, "weekly", "x@example.org", welcome=True)
    with lists_db.session() as s:
        assert store.find_subscriber(s, "x@example.org") is None


def test_import_welcomes_nobody_unless_asked(
    welcome_db: Database, settings: Settings, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "a.csv", "email,name\na@example.org,A\nb@example.org,B\n")
    report = import_csv(welcome_db, settings, first, "weekly")
    assert (report.added, report.welcomed) == (2, 0)
    assert queued_welcomes(welcome_db) == 0
    second = write_csv(
        tmp_path / "b.csv", "email,name\na@example.org,A\nc@example.org,C\nd@example.org,D\n"
    )
    dry = import_csv(welcome_db, settings, second, "weekly", welcome=True, dry_run=True)
    assert (dry.added, dry.welcomed) == (2, 2)
    assert queued_welcomes(welcome_db) == 0  # a dry run rolls the welcomes back too
    report = import_csv(welcome_db, settings, second, "weekly", welcome=True)
    # Only the people this import added: a@ was already there.
    assert (report.added, report.already, report.welcomed) == (2, 1, 2)
    with welcome_db.session() as s:
        rows = s.scalars(select(QueuedMail).where(QueuedMail.kind == "welcome")).all()
        assert sorted(r.to_email for r in rows) == ["c@example.org", "d@example.org"]
        assert all("Hello " + r.to_name.strip() in r.text for r in rows)


def test_a_broken_welcome_never_blocks_a_confirmation(
    welcome_db: Database, settings: Settings, outbox: Path, lists_dir: Path
) -> None:
    subscribe(welcome_db, settings, "weekly", "reader@example.org")
    [confirmation] = delivered(welcome_db, settings, outbox)
    (lists_dir / "welcome" / "weekly" / "welcome.md").unlink()
    result = confirm(welcome_db, settings, confirm_token(confirmation))
    assert result.already is False
    assert queued_welcomes(welcome_db) == 0


def test_list_files_report_a_bad_welcome_with_file_and_field(
    settings: Settings, lists_dir: Path
) -> None:
    (lists_dir / "weekly.toml").write_text(WEEKLY + 'welcome = "welcome/nowhere"\n', "utf-8")
    folder = lists_dir / "welcome" / "daily"
    folder.mkdir(parents=True)
    (folder / "message.toml").write_text('subjct = "Hi"\nbody = "x"\n', encoding="utf-8")
    (lists_dir / "daily.toml").write_text(DAILY + 'welcome = "welcome/daily"\n', "utf-8")
    with pytest.raises(ValidationError) as caught:
        load_list_files(lists_dir, settings.path(settings.paths.templates_dir))
    found = {
        (p.file.rsplit("/", 1)[-1], p.path, p.message.split(" (")[0]) for p in caught.value.problems
    }
    assert (
        "weekly.toml",
        "welcome",
        f"no welcome/nowhere/message.toml in {lists_dir} and no "
        f"template folder 'welcome/nowhere' with email.mjml.j2, email.txt.j2, subject.txt.j2 "
        f"in {settings.path(settings.paths.templates_dir)}",
    ) in found
    assert ("message.toml", "subjct", "unknown field") in found
    assert ("message.toml", "subject", "required field is missing") in found


def test_a_template_folder_can_be_the_welcome(
    db: Database, settings: Settings, lists_dir: Path, tmp_path: Path
) -> None:
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    custom = templates / "hello"
    custom.mkdir()
    (custom / "subject.txt.j2").write_text("Hello from {{ list_name }}\n", encoding="utf-8")
    settings.paths.templates_dir = str(templates)
    (lists_dir / "weekly.toml").write_text(WEEKLY + 'welcome = "hello"\n', "utf-8")
    (custom / "email.txt.j2").write_text(
        "Hi {{ subscriber.name }}, welcome to {{ list.name }}.\n"
        "Leave: {{ links.unsubscribe_url }}\n",
        encoding="utf-8",
    )
    (custom / "email.mjml.j2").write_text(
        '<mjml lang="{{ language }}"><mj-body><mj-section><mj-column><mj-text>'
        "<p>Hi {{ subscriber.name }}, welcome to {{ list.name }}.</p>"
        '<p><a href="{{ links.unsubscribe_url }}">Leave</a></p>'
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
        encoding="utf-8",
    )
    sync_lists(db, settings)
    shown = welcome.preview(db, settings, "weekly")
    assert shown.subject == "Hello from Weekly Briefing"
    assert "Hi Reader, welcome to Weekly Briefing." in shown.text
    assert "https://news.example.org/u/" in shown.html


def test_send_test_queues_a_marked_copy_that_welcomes_nobody(
    welcome_db: Database, settings: Settings, outbox: Path
) -> None:
    welcome.send_test(welcome_db, settings, "weekly", "editor@example.org")
    [message] = delivered(welcome_db, settings, outbox)
    assert message["Subject"] == "[TEST] Welcome to the Weekly Briefing"
    assert message["To"] == "editor@example.org"
    assert queued_welcomes(welcome_db) == 0


def test_cli_add_import_and_show_welcome(
    welcome_db: Database, settings: Settings, mailer_cli, tmp_path: Path
) -> None:
    result = mailer_cli("subscribers", "add", "cli@example.org", "--list", "weekly", "--welcome")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "cli@example.org is now active on weekly; welcome mail queued"
    shown = mailer_cli("subscribers", "show", "cli@example.org")
    assert re.search(r"list: +weekly: active since .*; welcome mail queued \d{4}-", shown.output)
    people_csv = write_csv(tmp_path / "p.csv", "email\nx@example.org\ny@example.org\n")
    result = mailer_cli("subscribers", "import", str(people_csv), "--list", "weekly", "--welcome")
    assert result.exit_code == 0, result.output
    assert "added 2 to weekly" in result.output and "2 welcome mails queued" in result.output
    assert queued_welcomes(welcome_db) == 3


def test_cli_welcome_on_a_list_without_one_is_one_line_error(
    lists_db: Database, mailer_cli, tmp_path: Path
) -> None:
    result = mailer_cli("subscribers", "add", "cli@example.org", "--list", "weekly", "--welcome")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: list weekly has no welcome message (set welcome in its file)"
    ]
    people_csv = write_csv(tmp_path / "p.csv", "email\nx@example.org\n")
    result = mailer_cli("subscribers", "import", str(people_csv), "--list", "weekly", "--welcome")
    assert result.exit_code == 1
    assert "Error: list weekly has no welcome message" in result.output
    with lists_db.session() as s:
        assert store.find_subscriber(s, "x@example.org") is None


def test_the_sample_welcomes_compose_in_their_lists_language(
    db: Database, settings: Settings, lists_dir: Path
) -> None:
    import shutil

    shutil.rmtree(lists_dir)
    shutil.copytree(ROOT / "lists", lists_dir)
    sync_lists(db, settings)
    english = welcome.preview(db, settings, "china-ai2x")
    dutch = welcome.preview(db, settings, "china-digest-nl")
    assert english.subject == "Welcome to the China AI2X Briefing"
    assert "Unsubscribe" in english.text and '<html lang="en"' in english.html
    assert dutch.subject == "Welkom bij China AI Digest"
    assert "Uitschrijven" in dutch.text and '<html lang="nl"' in dutch.html


@pytest.mark.parametrize(
    ("toml", "files", "field", "message"),
    [
        ('subject = "Hi"\nbody = "x"\nbody_file = "b.md"\n', {"b.md": b"x"}, "body", "give either"),
        ('subject = "Hi"\nbody_file = "../b.md"\n', {}, "body_file", 'file "../b.md" not found'),
        (
            'subject = "Hi"\nbody_file = "b.md"\n',
            {"b.md": b"\xff\xfe\x00"},
            "body_file",
            "not UTF-8",
        ),
        ('subject = "Two\\nlines"\nbody = "x"\n', {}, "subject", "must be one line"),
        ('subject = 3\nbody = "x"\n', {}, "subject", "must be non-empty text"),
        ('subject = "Hi"\nbody = "x"\n[broken\n', {}, "", "not valid TOML"),
    ],
)
def test_message_folder_problems_name_file_and_field(
    tmp_path: Path, toml: str, files: dict[str, bytes], field: str, message: str
) -> None:
    folder = tmp_path / "welcome"
    folder.mkdir()
    (folder / "message.toml").write_text(toml, encoding="utf-8")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with pytest.raises(ValidationError) as caught:
        welcome.read_message(folder)
    [problem] = caught.value.problems
    assert problem.file == str(folder / "message.toml")
    assert (problem.path, message in problem.message) == (field, True), problem
