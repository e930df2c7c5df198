"""The admin pages in headless Chromium: at phone and desktop widths, and an operator's errand.

Every admin page is loaded at 390 px and 1280 px: the page must not scroll
sideways, every navigation link must be on screen, and at 390 px tables fold
into one card per row. Then an operator imports a CSV with bad rows in the
browser, reads the rejects, imports, finds a subscriber and forgets them.
Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.lists import people
from tests.support.web import (
    PASSWORD,
    SAMPLE,
    add_list,
    add_subscriber,
    send_sample,
    shot,
    status_of,
)

pytestmark = pytest.mark.chromium

WIDTHS = (390, 1280)


def _login(page: Any, base: str) -> None:
    page.goto(f"{base}/login?next=/admin/lists")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/lists")


def _layout(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
        const vw = document.documentElement.clientWidth;
        const nav = [...document.querySelectorAll('.mainnav a, .logout button')].map(a => {
            const r = a.getBoundingClientRect();
            return {text: a.textContent.trim(), left: r.left, right: r.right,
                    visible: r.width > 0 && r.height > 0};
        });
        const heads = [...document.querySelectorAll('table.data thead')].map(
            t => getComputedStyle(t).display);
        const wrapped = [...document.querySelectorAll('table.data time')].filter(
            t => t.getClientRects().length > 1).map(t => t.textContent);
        return {vw, scroll: document.documentElement.scrollWidth, nav, heads, wrapped};
    }"""
        )
    )


def test_every_admin_page_fits_a_phone_and_a_desktop(
    live: tuple[str, Settings, Database],
    browser: Any,
) -> None:
    base, settings, db = live
    add_list(db, "news")
    for i in range(12):
        add_subscriber(
            db, f"reader.with.a.rather.long.address.{i}@example.org", "news", name=f"R{i}"
        )
    people.suppress(db, "reader.with.a.rather.long.address.3@example.org", "bounced")
    send_id = send_sample(settings, db, "news")
    add_user(db, "ops", PASSWORD)
    person = "reader.with.a.rather.long.address.3@example.org"
    pages = {
        "issues": "/admin/issues",
        "preview": f"/admin/issues/{SAMPLE}",
        "sends": "/admin/sends",
        "send": f"/admin/sends/{send_id}",
        "recipients": f"/admin/sends/{send_id}/recipients",
        "lists": "/admin/lists",
        "list": "/admin/lists/news",
        "import": "/admin/lists/news/import",
        "subscribers": "/admin/subscribers",
        "subscriber-add": "/admin/subscribers/new",
        "subscriber": f"/admin/subscribers/show?email={person}",
    }
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        _login(page, base)
        for name, path in pages.items():
            response = page.goto(base + path)
            assert response is not None and response.status == 200, (name, width)
            page.wait_for_load_state("load")
            shot(page, f"admin-{name}-{width}")
            got = _layout(page)
            assert got["scroll"] <= got["vw"], (
                f"{name} scrolls sideways at {width} px: {got['scroll']}"
            )
            assert len(got["nav"]) >= 5 and all(
                n["visible"] and n["left"] >= 0 and n["right"] <= got["vw"] for n in got["nav"]
            ), (name, width, got["nav"])
            assert not got["wrapped"], f"{name} at {width} px wraps a time: {got['wrapped']}"
            if width < 700:
                assert all(d == "none" for d in got["heads"]), (name, got["heads"])
            else:
                assert all(d != "none" for d in got["heads"]), (name, got["heads"])
        # The confirmation before a destructive action fits too.
        page.goto(f"{base}/admin/subscribers/show?email={person}")
        page.click("text=Forget this person")
        page.wait_for_selector("h1:has-text('Forget')")
        shot(page, f"admin-confirm-{width}")
        got = _layout(page)
        assert got["scroll"] <= got["vw"]
        context.close()
    assert status_of(db, person) == "active"  # asked, never confirmed


def test_operator_imports_finds_and_forgets(
    live: tuple[str, Settings, Database],
    browser: Any,
    tmp_path: Path,
) -> None:
    base, _, db = live
    add_list(db, "news")
    add_user(db, "ops", PASSWORD)
    upload = tmp_path / "members.csv"
    upload.write_text(
        "email,name,team\n"
        "mia@example.org,Mia Rossi,red\n"
        "broken-address,Nobody,red\n"
        "leo@example.org,Leo Marchetti,blue\n"
        "also@broken@example.org,Twice,blue\n"
        "noa@example.org,Noa Levi,red\n",
        encoding="utf-8",
    )
    context = browser.new_context(viewport={"width": 390, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base)

    page.click("a[href='/admin/lists/news']")
    page.click("text=Import a CSV")
    page.set_input_files("input[type=file]", str(upload))
    page.click("text=Upload and check")
    page.wait_for_selector(".dry-run")
    shot(page, "import-01-dry-run")
    assert page.inner_text("[data-figure=added] .value") == "3"
    assert page.inner_text("[data-figure=rejected] .value") == "2"
    lines = page.locator("table.rejects td[data-label=Line]").all_inner_texts()
    assert [n.strip() for n in lines] == ["3", "5"]
    assert "broken-address" in page.inner_text("table.rejects")
    with db.session() as s:
        assert store.find_subscriber(s, "mia@example.org") is None  # a dry run

    page.click("text=Import 3 new into news")
    page.wait_for_url(f"{base}/admin/lists/news")
    shot(page, "import-02-imported")
    assert "Imported members.csv" in page.inner_text(".flash")
    assert page.inner_text("[data-figure=active] .value") == "3"
    assert status_of(db, "leo@example.org") == "active"

    page.click("a.mainnav-subscribers, nav.mainnav a[href='/admin/subscribers']")
    page.fill("input[name=q]", "marchetti")
    page.click("button:has-text('Show')")
    page.wait_for_selector("table.people")
    assert page.locator("tr[data-subscriber]").count() == 1
    page.click("text=leo@example.org")
    page.wait_for_selector("h1:has-text('leo@example.org')")
    assert "team = blue" in page.input_value("textarea[name=attributes]")
    page.click("text=Forget this person")
    page.wait_for_selector("h1:has-text('Forget leo@example.org?')")
    shot(page, "import-03-confirm-forget")
    page.click("button:has-text('Forget this person')")
    page.wait_for_url(f"{base}/admin/subscribers")
    assert "leo@example.org is forgotten" in page.inner_text(".flash")
    shot(page, "import-04-forgotten")
    assert status_of(db, "leo@example.org") is None
    with db.session() as s:
        supp = store.get_suppression(s, "leo@example.org")
        assert supp is not None and supp.email is None and supp.reason == "forgotten"
    assert status_of(db, "mia@example.org") == "active"
    assert not errors, errors
    context.close()
