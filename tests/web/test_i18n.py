"""Subscriber pages speak the list's language; every string has its Dutch translation."""

from __future__ import annotations

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from starlette.testclient import TestClient

from mailer import links
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.lists.addresses import email_hash
from mailer.web import create_app
from mailer.web.i18n import catalog_path
from tests.support.paths import ROOT
from tests.support.web import add_list, add_subscriber, csrf_of

TEMPLATES = ROOT / "mailer" / "web" / "templates" / "public"


def _msgids() -> set[str]:
    found: set[str] = set()
    options = {"trim_blocks": "1", "lstrip_blocks": "1", "extensions": "jinja2.ext.i18n"}
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as fh:
            for _line, _func, message, _comments in babel_extract(
                fh, ["gettext", "ngettext"], [], options
            ):
                # ngettext gives (singular, plural): the singular is the msgid.
                msgid = message if isinstance(message, str) else (message or (None,))[0]
                if msgid:
                    found.add(msgid)
    return found


def test_dutch_catalog_is_complete() -> None:
    with catalog_path("nl").open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    translated = {m.id: m.string for m in catalog if m.id}
    used = _msgids()
    assert len(used) > 25
    missing = sorted(used - set(translated))
    assert not missing, f"untranslated in web.po: {missing}"
    assert all(translated[m] for m in used), "empty msgstr in web.po"


def _dutch_app(settings: Settings, db: Database) -> TestClient:
    add_list(db, "nieuws", name="Het <Nieuws>")
    with db.session() as s:
        lst = store.get_list(s, "nieuws")
        lst.language = "nl"
    return TestClient(create_app(settings, db), follow_redirects=False)


def test_dutch_list_pages_are_dutch(settings: Settings, web_db: Database) -> None:
    with _dutch_app(settings, web_db) as c:
        page = c.get("/subscribe/nieuws")
        assert '<html lang="nl">' in page.text
        assert "Abonneer je op Het &lt;Nieuws&gt;" in page.text  # translated, still escaped
        assert "E-mailadres" in page.text and "Subscribe" not in page.text
        r = c.post(
            "/subscribe/nieuws",
            data={"email": "jan@example.org", "csrf_token": csrf_of(page.text)},
        )
        assert "Kijk in je inbox" in c.get(r.headers["location"]).text
        add_subscriber(web_db, "piet@example.org", "nieuws")
        token = links.make_token(settings, "unsubscribe", "nieuws", email_hash("piet@example.org"))
        page = c.get(f"/u/{token}")
        assert "Afmelden voor Het &lt;Nieuws&gt;?" in page.text
        done = c.post(f"/u/{token}", data={"csrf_token": csrf_of(page.text)})
        assert "Je bent afgemeld" in done.text and "Per ongeluk afgemeld?" in done.text


def test_english_list_pages_stay_english(client: TestClient) -> None:
    page = client.get("/subscribe/news")
    assert '<html lang="en">' in page.text and "Email address" in page.text
