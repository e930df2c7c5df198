"""The "New issue" page and the issue editor, in-process (SQLite; PostgreSQL where `db` is used)."""

from __future__ import annotations

import html
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.content import folder as files
from mailer.db import Database
from tests.support.draft import INPUTS, seed
from tests.support.paths import ROOT
from tests.support.web import csrf_of

SEED_000 = seed(0)
SAMPLE = "china-tech-2025-01-27"


@pytest.fixture
def issues(settings: Settings, tmp_path: Path) -> Path:
    """A writable copy of the sample issues, which the app serves."""
    root = tmp_path / "issues"
    shutil.copytree(ROOT / "issues", root)
    settings.paths.issues_dir = str(root)
    return root


def _form(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    fields: dict[str, str] = {}
    # The first version on the page is the editor's file; later ones are issue.toml's.
    for key, value in re.findall(r'name="(csrf_token|version)" value="([^"]*)"', page.text):
        fields.setdefault(key, value)
    return fields


def test_new_issue_needs_login(client: TestClient) -> None:
    assert client.get("/admin/new").status_code == 303
    r = client.post("/admin/new", data={"text": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_new_issue_shows_what_it_recognised_then_creates(editor: TestClient, issues: Path) -> None:
    csrf = csrf_of(editor.get("/admin/new").text)
    text = SEED_000.read_text(encoding="utf-8")
    data = {
        "csrf_token": csrf,
        "text": text,
        "shape": "auto",
        "action": "preview",
        "newsletter": "China AI2X Briefing",
        "date": "2026-01-19",
    }
    shown = editor.post("/admin/new", data=data)
    assert shown.status_code == 200
    assert "section 1: AI + Mobility" in shown.text
    assert "feature: Large models to act as traffic lights in the sky" in shown.text
    assert not (issues / "ai-to-everything-in-chinas-2026-01-19").exists()  # nothing written yet
    created = editor.post("/admin/new", data={**data, "action": "create", "slug": "ai2x-next"})
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/issues/ai2x-next/edit"
    toml = tomllib.loads((issues / "ai2x-next/issue.toml").read_text(encoding="utf-8"))
    assert toml["newsletter"]["accent_color"] == "#b4232a"
    assert toml["date"].isoformat() == "2026-01-19"
    assert editor.get("/admin/issues/ai2x-next/edit").status_code == 200
    again = editor.post("/admin/new", data={**data, "action": "create", "slug": "ai2x-next"})
    assert again.status_code == 400 and "already exists" in again.text


def test_new_issue_from_an_uploaded_web_page(
    editor: TestClient, issues: Path, db: Database
) -> None:
    csrf = csrf_of(editor.get("/admin/new").text)
    page = (INPUTS / "article_page.html").read_bytes()
    r = editor.post(
        "/admin/new",
        data={
            "csrf_token": csrf,
            "action": "create",
            "slug": "rules",
            "date": "2025-09-02",
            "list": "news",
        },
        files={"upload": ("page.html", page, "text/html")},
    )
    assert r.status_code == 303, r.text
    story = (issues / "rules/stories/beijing-sets-rules-for-ai-generated-content.md").read_text()
    assert "hidden watermark" in story and "terrible idea" not in story
    toml = tomllib.loads((issues / "rules/issue.toml").read_text(encoding="utf-8"))
    assert toml["newsletter"]["name"] == "The News List"  # the chosen list names it


def test_pasted_html_is_read_as_a_web_page(editor: TestClient, issues: Path) -> None:
    csrf = csrf_of(editor.get("/admin/new").text)
    page = (INPUTS / "article_page.html").read_text(encoding="utf-8")
    r = editor.post("/admin/new", data={"csrf_token": csrf, "action": "preview", "text": page})
    assert r.status_code == 200
    shown = html.unescape(r.text)
    assert "feature: Beijing sets rules for AI-generated content" in shown
    assert "trafilatura" in shown


def test_upload_size_is_limited(editor: TestClient, issues: Path) -> None:
    from mailer.web.drafting import MAX_UPLOAD_BYTES

    csrf = csrf_of(editor.get("/admin/new").text)
    big = b"A line of text.\n" * (MAX_UPLOAD_BYTES // 16 + 10)
    r = editor.post(
        "/admin/new",
        data={"csrf_token": csrf, "action": "create", "slug": "big"},
        files={"upload": ("big.txt", big, "text/plain")},
    )
    assert r.status_code == 400
    assert "larger than" in r.text
    assert not (issues / "big").exists()


def test_new_issue_refuses_a_folder_name_outside_issues(editor: TestClient, issues: Path) -> None:
    csrf = csrf_of(editor.get("/admin/new").text)
    r = editor.post(
        "/admin/new",
        data={
            "csrf_token": csrf,
            "text": SEED_000.read_text(),
            "action": "create",
            "slug": "../escape",
        },
    )
    assert r.status_code == 400 and "folder name" in r.text
    assert not (issues.parent / "escape").exists()


def test_save_is_validated_and_atomic(editor: TestClient, issues: Path) -> None:
    toml_path = issues / SAMPLE / "issue.toml"
    before = toml_path.read_bytes()
    fields = _form(editor, f"/admin/issues/{SAMPLE}/edit")
    bad = before.decode().replace('title = "', 'titel = "', 1)
    r = editor.post(
        f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": "issue.toml", "text": bad}
    )
    assert r.status_code == 422
    line = bad.splitlines().index(next(x for x in bad.splitlines() if x.startswith("titel"))) + 1
    shown = html.unescape(r.text)
    assert f"issue.toml:{line}" in shown and 'unknown key "titel"; did you mean "title"?' in shown
    assert toml_path.read_bytes() == before  # refused: nothing written
    good = before.decode().replace("Robots lopen mee", "Robots rennen mee", 1)
    r = editor.post(
        f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": "issue.toml", "text": good}
    )
    assert r.status_code == 303
    assert "Robots rennen mee" in toml_path.read_text(encoding="utf-8")
    assert not [p for p in toml_path.parent.iterdir() if p.name.startswith(".")]


def test_save_detects_a_change_on_disk(editor: TestClient, issues: Path) -> None:
    toml_path = issues / SAMPLE / "issue.toml"
    fields = _form(editor, f"/admin/issues/{SAMPLE}/edit")
    toml_path.write_text(toml_path.read_text(encoding="utf-8") + "\n# edited elsewhere\n")
    mine = toml_path.read_text(encoding="utf-8").replace("# edited elsewhere", "")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": "issue.toml", "text": mine}
    )
    assert r.status_code == 409
    assert "changed on disk since you opened it" in r.text
    assert "# edited elsewhere" in toml_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    ["../other/issue.toml", "/etc/passwd.md", "stories/../../x.md", "notes.txt", ".hidden.md"],
)
def test_paths_are_confined_to_the_issue(editor: TestClient, issues: Path, name: str) -> None:
    fields = _form(editor, f"/admin/issues/{SAMPLE}/edit")
    r = editor.post(f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": name, "text": "x"})
    assert r.status_code == 400
    assert "not an editable file" in r.text
    assert editor.get(f"/admin/issues/{SAMPLE}/edit", params={"file": name}).status_code == 400


def test_symlinks_out_of_the_folder_are_refused(
    editor: TestClient, issues: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret", encoding="utf-8")
    (issues / SAMPLE / "link.md").symlink_to(outside)
    page = editor.get(f"/admin/issues/{SAMPLE}/edit", params={"file": "link.md"})
    assert page.status_code == 400 and "symbolic link" in page.text
    assert "link.md" not in editor.get(f"/admin/issues/{SAMPLE}/edit").text
    fields = _form(editor, f"/admin/issues/{SAMPLE}/edit")
    r = editor.post(f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": "link.md", "text": "x"})
    assert r.status_code == 400
    assert outside.read_text(encoding="utf-8") == "secret"


def _structure(editor: TestClient, slug: str, **data: str) -> None:
    fields = _form(editor, f"/admin/issues/{slug}/edit")  # issue.toml: the same version
    r = editor.post(f"/admin/issues/{slug}/structure", data={**fields, **data})
    assert r.status_code == 303


def _headlines(issues: Path, slug: str) -> list[list[str]]:
    data = tomllib.loads((issues / slug / "issue.toml").read_text(encoding="utf-8"))
    return [
        [s.get("headline") or s.get("source", "") for s in sec["stories"]]
        for sec in data["sections"]
    ]


def test_add_move_and_delete_stories(editor: TestClient, issues: Path) -> None:
    slug = "ai2x-briefing-2026-01-12"
    first = _headlines(issues, slug)
    _structure(
        editor,
        slug,
        action="add",
        section="0",
        headline="Drones deliver noodles",
        body="A short text about drones.",
        label="",
    )
    assert _headlines(issues, slug)[0] == [*first[0], "Drones deliver noodles"]
    assert (issues / slug / "stories/drones-deliver-noodles.md").read_text().startswith("A short")
    _structure(editor, slug, action="story-up", section="0", story="1")
    assert _headlines(issues, slug)[0] == ["Drones deliver noodles", *first[0]]
    _structure(editor, slug, action="section-down", section="0")
    assert [h[0] for h in _headlines(issues, slug)[:2]] == [first[1][0], "Drones deliver noodles"]
    _structure(editor, slug, action="delete", section="1", story="0")
    assert _headlines(issues, slug)[1] == first[0]
    assert not (issues / slug / "stories/drones-deliver-noodles.md").exists()
    text = (issues / slug / "issue.toml").read_text(encoding="utf-8")
    assert text.startswith("# China AI2X Briefing: five sections")  # comments are kept


def test_structure_change_refused_after_a_change_on_disk(editor: TestClient, issues: Path) -> None:
    slug = "ai2x-briefing-2026-01-12"
    fields = _form(editor, f"/admin/issues/{slug}/edit")
    toml_path = issues / slug / "issue.toml"
    toml_path.write_text(toml_path.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
    before = toml_path.read_bytes()
    r = editor.post(
        f"/admin/issues/{slug}/structure",
        data={**fields, "action": "section-down", "section": "0"},
        follow_redirects=True,
    )
    assert "changed on disk" in r.text
    assert toml_path.read_bytes() == before


def test_locating_a_field_in_issue_toml() -> None:
    text = (ROOT / "issues" / SAMPLE / "issue.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    line = files.toml_line_of(text, "sections[1].stories[1].source")
    assert lines[line - 1] == 'source = "SCMP"'
    assert lines[files.toml_line_of(text, "newsletter.name") - 1].startswith("name = ")


def test_an_issue_broken_on_disk_is_mended_one_save_at_a_time(
    editor: TestClient, issues: Path
) -> None:
    slug = "ai2x-briefing-2026-01-12"
    (issues / slug / "stories/ai-in-coal-mines.md").unlink()
    page = editor.get(f"/admin/issues/{slug}/edit")
    assert 'file "stories/ai-in-coal-mines.md" not found' in html.unescape(page.text)
    assert "issue-problems" in page.text
    assert "mailer-check-" not in page.text  # the check's temporary copy is never named
    fields = _form(editor, f"/admin/issues/{slug}/edit?file=intro.md")
    # A save that adds a problem is still refused ...
    r = editor.post(
        f"/admin/issues/{slug}/edit",
        data={**fields, "file": "intro.md", "text": "See [this](/relative)."},
    )
    assert r.status_code == 422
    assert "relative" in html.unescape(r.text)
    # ... one that adds none is written, and says what is left.
    r = editor.post(
        f"/admin/issues/{slug}/edit",
        data={**fields, "file": "intro.md", "text": "A new intro."},
        follow_redirects=True,
    )
    assert (issues / slug / "intro.md").read_text(encoding="utf-8") == "A new intro."
    assert "still has 1 problem" in r.text


def test_add_a_story_in_a_new_section_and_the_limits(editor: TestClient, issues: Path) -> None:
    slug = "china-6g-ai-plus-2024-03-09"
    _structure(
        editor,
        slug,
        action="add",
        section="1",
        label="More",
        headline="A second one",
        body="Its text.",
    )
    data = tomllib.loads((issues / slug / "issue.toml").read_text(encoding="utf-8"))
    assert [s.get("label") for s in data["sections"]] == [None, "More"]
    fields = _form(editor, f"/admin/issues/{slug}/edit")
    r = editor.post(
        f"/admin/issues/{slug}/structure",
        data={**fields, "action": "section-down", "section": "1"},
        follow_redirects=True,
    )
    assert "already at the bottom" in r.text
    _structure(editor, slug, action="delete", section="1", story="0")
    fields = _form(editor, f"/admin/issues/{slug}/edit")
    r = editor.post(
        f"/admin/issues/{slug}/structure",
        data={**fields, "action": "delete", "section": "0", "story": "0"},
        follow_redirects=True,
    )
    assert "an issue needs at least one story" in r.text
    assert (issues / slug / "stories/6g-and-ai-plus.md").is_file()


def test_a_refused_save_keeps_the_editors_text(editor: TestClient, issues: Path) -> None:
    toml_path = issues / SAMPLE / "issue.toml"
    fields = _form(editor, f"/admin/issues/{SAMPLE}/edit")
    bad = toml_path.read_text(encoding="utf-8").replace('title = "', 'titel = "', 1)
    r = editor.post(
        f"/admin/issues/{SAMPLE}/edit", data={**fields, "file": "issue.toml", "text": bad}
    )
    assert r.status_code == 422
    area = re.search(r'<textarea name="text" id="editor"[^>]*>(.*?)</textarea>', r.text, re.S)
    # HTML drops one newline right after <textarea>: the page puts one there.
    assert area and html.unescape(area.group(1)) == "\n" + bad
    # The form still carries the version the editor started from.
    assert f'name="version" value="{fields["version"]}"' in r.text
