"""One truth per send: published snapshots, draft links, frozen scheduled sends, charts, preview."""

from __future__ import annotations

import email
import itertools
import re
import shutil
from datetime import datetime, timedelta
from email import policy
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from mailer.db.models import Recipient
from mailer.deliver.worker import Worker
from tests.support.deliver import body_of
from tests.support.web import SAMPLE, add_list, add_subscriber, admin_csrf

STORY = "large-models-to-act-as-traffic-lights-in"
TITLE = "AI to everything in China"


def _send(settings: Settings, db: Database, folder: Path, list_slug: str = "news") -> int:
    """Freeze and send the issue in ``folder`` now, as `mailer send` does."""
    from mailer.compose.snapshot import freeze_issue
    from mailer.content import load_issue
    from mailer.deliver.sends import create_send

    composed, snapshot = freeze_issue(load_issue(folder, settings), settings, list_slug=list_slug)
    send = create_send(settings, db, composed, list_slug, snapshot=snapshot)
    Worker(settings, db).run(once=True)
    return int(send.id)


def _edit(folder: Path, old: str, new: str, name: str = "issue.toml") -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_archive_serves_the_sent_version_whatever_happens_to_the_files(
    own_issues: Path, db: Database, client: TestClient, app_db: Database, settings: Settings
) -> None:
    folder = own_issues / SAMPLE
    add_subscriber(app_db, "reader@example.org")
    _send(settings, app_db, folder)
    _edit(folder, f'title = "{TITLE}"', 'title = "A title written after sending"')
    _edit(folder, "traffic lights", "stop signs", "stories/traffic-lights-in-the-sky.md")
    page = client.get(f"/issues/{SAMPLE}/")
    assert page.status_code == 200 and TITLE in page.text
    r = client.get(f"/issues/{SAMPLE}")
    assert r.status_code == 301 and r.headers["location"].endswith(f"/issues/{SAMPLE}/")
    assert "written after sending" not in page.text
    assert "traffic lights" in client.get(f"/issues/{SAMPLE}/{STORY}/").text.lower()
    # A validation problem in the files: readers still get the sent issue, no path, no message.
    _edit(folder, "title =", "titel =")
    for path in (f"/issues/{SAMPLE}/", f"/issues/{SAMPLE}/{STORY}/", "/lists/news/feed.xml"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert str(own_issues) not in r.text and "is required" not in r.text
    assert TITLE in client.get(f"/issues/{SAMPLE}/").text
    assert "CT scans" in client.get("/lists/news/feed.xml").text  # summary from the snapshot
    # The folder gone altogether.
    shutil.rmtree(folder)
    assert TITLE in client.get(f"/issues/{SAMPLE}/").text
    assert client.get(f"/issues/{SAMPLE}/{STORY}/").status_code == 200


def test_archive_shows_the_latest_send_or_the_canonical_lists(
    own_issues: Path, client: TestClient, app_db: Database, settings: Settings
) -> None:
    folder = own_issues / SAMPLE
    add_list(app_db, "other")
    add_subscriber(app_db, "a@example.org")
    add_subscriber(app_db, "b@example.org", "other")
    _send(settings, app_db, folder, "news")
    _edit(folder, f'title = "{TITLE}"', 'title = "The other edition"')
    _send(settings, app_db, folder, "other")
    page = client.get(f"/issues/{SAMPLE}/").text
    assert "The other edition" in page  # the latest send
    # Each snapshot's subscribe link leads to the list that send went to.
    assert 'href="https://news.example.org/subscribe/other"' in page
    settings.site.archive_list = "news"
    client.app.state.web.issues._data.clear()  # type: ignore[attr-defined]  # skip the 5 s lag
    page = client.get(f"/issues/{SAMPLE}/").text
    assert TITLE in page and "The other edition" not in page
    assert 'href="https://news.example.org/subscribe/news"' in page
    assert "/subscribe/other" not in page


def test_every_link_of_a_test_copy_opens(
    own_issues: Path, client: TestClient, editor: TestClient, settings: Settings
) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/test",
        data={"addresses": "me@example.org", "list": "news", "csrf_token": token},
    )
    assert r.status_code == 303
    [eml] = sorted(settings.path(settings.delivery.outbox_dir).rglob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = body_of(msg, "html")
    text = body_of(msg, "plain")
    site = urlsplit(settings.site.base_url).netloc
    own = [u for u in re.findall(r'href="([^"]+)"', html) if urlsplit(u).netloc == site]
    assert any("/drafts/" in u and STORY in u for u in own), "no Read more to a draft page"
    assert not any("/issues/" in u for u in own) and "/issues/" not in text
    editor.cookies.clear()  # the reader of a test copy is not logged in
    for url in sorted(set(own)):
        parts = urlsplit(url.replace("&amp;", "&"))
        got = editor.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        assert got.status_code == 200, f"{url} answered {got.status_code}"


def test_expired_draft_link_is_refused(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from mailer import links

    token = links.make_draft_token(settings, SAMPLE)
    assert client.get(links.draft_path(token)).status_code == 200
    # Without its trailing slash a draft page moves to it, so relative links resolve.
    bare = links.draft_path(token).rstrip("/")
    r = client.get(bare)
    assert r.status_code == 301 and r.headers["location"].endswith(bare + "/")
    settings.web.draft_link_hours = 1
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 7200)
    stale = links.make_draft_token(settings, SAMPLE)  # signed two hours ago
    monkeypatch.undo()
    r = client.get(links.draft_path(stale))
    assert r.status_code == 400 and "expired" in r.text


def test_scheduled_send_shows_what_changed_and_refreezes(
    own_issues: Path, db: Database, editor: TestClient, app_db: Database
) -> None:
    folder = own_issues / SAMPLE
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/schedule",
        data={
            "list": "news",
            "date": "2099-01-01",
            "time": "10:30",
            "timezone": "Europe/Brussels",
            "when": "later",
            "csrf_token": token,
        },
    )
    send_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = editor.get(f"/admin/sends/{send_id}").text
    assert "Frozen " in page and 'data-changed="1"' not in page
    assert "scheduled. Warning: the issue&#39;s newsletter name" in page  # said before it goes
    _edit(folder, 'subject = "AI to everything', 'subject = "Edited: AI to everything')
    _edit(folder, "traffic lights", "stop signs", "stories/traffic-lights-in-the-sky.md")
    preview = editor.get(f"/admin/issues/{SAMPLE}").text
    assert f'data-pending-send="{send_id}"' in preview  # the preview says edits do not reach it
    page = editor.get(f"/admin/sends/{send_id}").text
    assert 'data-changed="1"' in page
    assert "subject: “AI to everything" in page and "Edited: AI to everything" in page
    assert "story edited: “Large models to act as traffic lights" in page
    r = editor.post(f"/admin/sends/{send_id}/refreeze", data={"csrf_token": admin_csrf(editor)})
    assert r.status_code == 303
    page = editor.get(f"/admin/sends/{send_id}").text
    assert "re-frozen" in page and 'data-changed="1"' not in page
    assert "<h1>Edited: AI to everything" in page
    # Once started, re-freezing is refused and nothing changes.
    with app_db.session() as s:
        from mailer.db import outbox

        outbox.start_send(s, send_id, datetime(2026, 1, 1))
    _edit(folder, 'subject = "Edited:', 'subject = "Again:')
    r = editor.post(f"/admin/sends/{send_id}/refreeze", data={"csrf_token": admin_csrf(editor)})
    page = editor.get(r.headers["location"]).text
    assert "can no longer change" in page and "<h1>Edited: AI to everything" in page


def test_scheduled_send_notices_broken_files(
    own_issues: Path, editor: TestClient, app_db: Database
) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/schedule",
        data={"list": "news", "date": "2099-01-01", "time": "10:30", "when": "later",
              "timezone": "UTC", "csrf_token": token},
    )  # fmt: skip
    send_id = int(r.headers["location"].rsplit("/", 1)[1])
    _edit(own_issues / SAMPLE, "title =", "titel =")
    page = editor.get(f"/admin/sends/{send_id}").text
    assert "the issue&#39;s files have problems now" in page and "frozen version goes out" in page


def _recipients(db: Database, send_id: int, rows: list[tuple[datetime, datetime | None]]) -> None:
    with db.session() as s:
        for i, (sent, delivered) in enumerate(rows):
            s.add(
                Recipient(
                    send_id=send_id,
                    email=f"r{i}@example.org",
                    email_hash=f"{i:064d}",
                    status="sent",
                    sent_at=sent,
                    delivered_at=delivered,
                )
            )


@pytest.mark.parametrize(
    ("span", "unit"),
    [(timedelta(minutes=5), "minute"), (timedelta(hours=5), "hour"), (timedelta(days=5), "day")],
)
def test_chart_one_bucket_no_overlap_delivered_never_above_sent(
    db: Database, editor: TestClient, app_db: Database, span: timedelta, unit: str
) -> None:
    from mailer.db import outbox

    with app_db.session() as s:
        from mailer.db.subscribers import get_list

        send = outbox.create_send(
            s, issue_slug="x", list_id=get_list(s, "news").id, subject="S", html="h", text="t",
            scheduled_at=None,
        )  # fmt: skip
        send_id = send.id
    start = datetime(2026, 3, 2, 8, 0, 30)
    rows: list[tuple[datetime, datetime | None]] = []
    for i in range(40):
        at = start + span * i / 40
        # Provider clocks run ahead: some deliveries are stamped before their send.
        rows.append((at, at - timedelta(seconds=20) if i % 3 == 0 else at + span / 80))
    _recipients(app_db, send_id, rows)
    with app_db.session() as s:
        outbox.set_status(s, send_id, "done", started_at=start, finished_at=start + span)
    page = editor.get(f"/admin/sends/{send_id}").text
    assert f"per {unit}, times in Europe/Brussels (UTC+01:00)" in page
    sent, delivered = (
        [int(v) for v in found[1].split(",")]
        for found in (
            re.search(rf'class="s-{name}"[^>]*data-values="([^"]+)"', page)
            for name in ("sent", "delivered")
        )
        if found is not None
    )
    assert sent[-1] == 40 and delivered[-1] == 40
    assert all(d <= s for d, s in zip(delivered, sent, strict=True)), (sent, delivered)
    ticks = [
        (float(x), float(w))
        for x, w in re.findall(r'<text class="tick" x="([\d.]+)"[^>]*data-width="(\d+)"', page)
    ]
    assert len(ticks) >= 2
    for (x1, w1), (x2, w2) in itertools.pairwise(ticks):
        assert x1 + w1 / 2 < x2 - w2 / 2, f"labels overlap: {ticks}"


def test_preview_is_the_lists_inbox_row_with_warnings(editor: TestClient, app_db: Database) -> None:
    with app_db.session() as s:
        from mailer.db import subscribers

        subscribers.upsert_list(
            s,
            "dutch",
            {"name": "Nieuwsbrief", "description": "", "from_name": "De Redactie",
             "from_email": "redactie@example.nl", "reply_to": "", "language": "nl",
             "template": "default", "double_opt_in": True, "postal_address": "Straat 1"},
        )  # fmt: skip
    page = editor.get(f"/admin/issues/{SAMPLE}?list=dutch").text
    assert "De Redactie" in page and "&lt;redactie@example.nl&gt;" in page
    warnings = [unescape(w) for w in re.findall(r"data-fit-warning>Warning: ([^<]+)<", page)]
    assert any("'en'" in w and "'nl'" in w for w in warnings), warnings
    assert any("China AI2X Briefing" in w for w in warnings), warnings
    frame = editor.get(f"/admin/issues/{SAMPLE}/frame?list=dutch").text
    assert "Straat 1" in frame  # composed with the list's postal address
    plain = editor.get(f"/admin/issues/{SAMPLE}?list=news").text
    assert "news@example.org" in plain and "Example News" in plain
    found = [unescape(w) for w in re.findall(r"data-fit-warning>Warning: ([^<]+)<", plain)]
    assert not any("'nl'" in w for w in found) and any("'The News List'" in w for w in found)
