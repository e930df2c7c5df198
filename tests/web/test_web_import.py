"""CSV import in the browser: upload, dry run with counts and rejects, then import."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.lists import people
from mailer.web.members import uploads_dir
from tests.support.web import add_subscriber, admin_csrf, status_of

GOOD_AND_BAD = (
    "email,name,city\n"
    "ann@example.org,Ann,Ghent\n"
    "not-an-address,Bad,Nowhere\n"
    "bob@example.org,Bob,Leuven\n"
    ",Empty,Nowhere\n"
    "sup@example.org,Sup,Brussels\n"
    "ann@example.org,,Antwerp\n"
)


def _count(db: Database) -> int:
    with db.session() as s:
        return sum(store.count_subscriptions(s, store.get_list(s, "news").id).values())


def _upload(editor: TestClient, body: bytes, name: str = "people.csv", **extra: str) -> str:
    token = admin_csrf(editor, "/admin/lists/news/import")
    r = editor.post(
        "/admin/lists/news/import",
        data={"csrf_token": token, **extra},
        files={"file": (name, body, "text/csv")},
    )
    return f"{r.status_code}\n{r.text}"


def test_dry_run_shows_counts_and_rejects_then_imports(
    editor: TestClient, app_db: Database, db: Database, settings: Settings
) -> None:
    people.suppress(app_db, "sup@example.org")
    answer = _upload(editor, GOOD_AND_BAD.encode())
    status, page = answer.split("\n", 1)
    assert status == "200"
    assert "Dry run of people.csv" in page
    figures = dict(
        re.findall(
            r'data-figure="(\w+)"><div class="label">[^<]*</div><div class="value">(\d+)', page
        )
    )
    assert figures["rows"] == "6" and figures["added"] == "2" and figures["rejected"] == "2"
    assert figures["suppressed"] == "1" and figures["duplicates"] == "1"
    rejects = re.findall(
        r'<td data-label="Line" class="num">(\d+)</td><td data-label="Reason">([^<]*)</td>', page
    )
    lines = {int(n): html.unescape(why) for n, why in rejects}
    assert sorted(lines) == [3, 5, 6]
    assert "not a valid email address" in lines[3] and lines[5] == "the email is empty"
    assert lines[6].startswith("suppressed (manual)")
    assert _count(app_db) == 0  # a dry run changes nothing

    token = re.search(r'action="/admin/lists/news/import/([\w-]+)"', page)
    assert token
    rejects_csv = editor.get(f"/admin/lists/news/import/{token.group(1)}/rejects.csv")
    assert rejects_csv.status_code == 200 and rejects_csv.text.startswith(
        "line,reason,email,name,city"
    )
    r = editor.post(
        f"/admin/lists/news/import/{token.group(1)}",
        data={"csrf_token": admin_csrf(editor), "encoding": "utf-8"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/lists/news"
    done = editor.get(r.headers["location"]).text
    assert "Imported people.csv: 6 rows read, added 2 to news" in done
    assert status_of(app_db, "ann@example.org") == "active"
    assert status_of(app_db, "bob@example.org") == "active"
    assert status_of(app_db, "sup@example.org") is None
    with app_db.session() as s:
        ann = store.find_subscriber(s, "ann@example.org")
        assert ann is not None and ann.source == "import:people.csv"
        assert ann.attributes == {"city": "Antwerp"}  # the later row wins, as in the CLI
    # The upload is gone once imported: the same token cannot import twice.
    again = editor.post(
        f"/admin/lists/news/import/{token.group(1)}", data={"csrf_token": admin_csrf(editor)}
    )
    assert again.status_code == 404 and "imported already" in again.text
    assert not list((uploads_dir(settings) / token.group(1)).glob("people.csv"))


def test_a_bad_file_is_refused_whole_with_its_line(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "keep@example.org")
    latin = "email,name\nok@example.org,Ok\nzoe@example.org,Zo\xeb\n".encode("latin-1")
    status, page = _upload(editor, latin, name="latin.csv").split("\n", 1)
    assert status == "422"
    text = html.unescape(page)
    assert "latin.csv: line 3: not valid utf-8 text (byte 0xeb" in text
    assert "choose the encoding below (e.g. latin-1)" in text
    assert str(uploads_dir(settings)) not in text  # named as the operator knows it
    assert _count(app_db) == 1 and status_of(app_db, "ok@example.org") is None
    # The same file, declared latin-1, goes through.
    status, page = _upload(editor, latin, name="latin.csv", encoding="latin-1").split("\n", 1)
    assert (
        status == "200"
        and 'data-figure="added"><div class="label">Would add</div><div class="value">2' in page
    )


@pytest.mark.parametrize(
    ("body", "name", "text"),
    [
        (b"", "empty.csv", "empty.csv: the file is empty"),
        (
            b"name,city\nAnn,Ghent\n",
            "nomail.csv",
            "header: no email column (the header is: name, city)",
        ),
        (b"\xff\xfee\x00m\x00", "utf16.csv", "the file is UTF-16 text"),
    ],
)
def test_file_level_refusals(
    editor: TestClient, app_db: Database, body: bytes, name: str, text: str
) -> None:
    status, page = _upload(editor, body, name=name).split("\n", 1)
    assert status == "422" and text in html.unescape(page)
    assert _count(app_db) == 0


def test_import_refusals(editor: TestClient) -> None:
    token = admin_csrf(editor, "/admin/lists/news/import")
    no_file = editor.post("/admin/lists/news/import", data={"csrf_token": token})
    assert no_file.status_code == 422 and "choose a CSV file" in no_file.text
    bad_encoding = _upload(editor, b"email\na@example.org\n", encoding="ebcdic")
    assert bad_encoding.startswith("422") and "encoding: one of utf-8" in bad_encoding
    no_csrf = editor.post(
        "/admin/lists/news/import", files={"file": ("a.csv", b"email\n", "text/csv")}
    )
    assert no_csrf.status_code == 403
    for bad in ("short", "../../../../etc"):
        r = editor.post(f"/admin/lists/news/import/{bad}", data={"csrf_token": token})
        assert r.status_code == 404
    assert editor.post("/admin/lists/nope/import", data={"csrf_token": token}).status_code == 404


def test_only_the_import_takes_a_big_body(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    rows = "".join(f"person{i:06d}@example.org,Person {i}\n" for i in range(40_000))
    body = ("email,name\n" + rows).encode()
    assert 1_000_000 < len(body) < settings.web.max_upload_mb * 1_000_000
    status, page = _upload(editor, body, name="big.csv").split("\n", 1)
    assert status == "200" and 'Would add</div><div class="value">40,000' in page
    token = admin_csrf(editor)
    elsewhere = editor.post(
        "/admin/subscribers/new",
        data={"csrf_token": token},
        files={"file": ("big.csv", body, "text/csv")},
    )
    assert elsewhere.status_code == 413
    settings.web.max_upload_mb = 1
    from mailer.web import create_app

    with TestClient(create_app(settings, app_db), base_url="https://news.example.org") as c:
        r = c.post("/admin/lists/news/import", files={"file": ("big.csv", body, "text/csv")})
        assert r.status_code == 413


def test_clean_upload_has_no_rejects_file_and_commit_needs_csrf(
    editor: TestClient, app_db: Database
) -> None:
    status, page = _upload(editor, b"email\nok@example.org\n").split("\n", 1)
    assert status == "200" and "data rejects" not in page and "Download every rejected" not in page
    token = re.search(r'action="/admin/lists/news/import/([\w-]+)"', page)
    assert token
    r = editor.get(f"/admin/lists/news/import/{token.group(1)}/rejects.csv")
    assert r.status_code == 404 and "no rows were rejected" in r.text
    r = editor.post(f"/admin/lists/news/import/{token.group(1)}", data={"encoding": "utf-8"})
    assert r.status_code == 403 and status_of(app_db, "ok@example.org") is None
