"""Signed links that subscribers follow, and the public URLs of the web app.

One module builds every URL an email or page points to, so the web routes and
the messages cannot drift apart. Subscriber links carry an itsdangerous token
signed with HMAC-SHA256: it holds the list slug and the hash of the address,
never a database id nor the address itself, and it cannot be forged without
the site key (``mailer.keys``). Tokens are signed with the current key and
verified with it and ``site.previous_secret_keys``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from mailer.config import Settings
from mailer.errors import InvalidToken
from mailer.keys import verifying_keys


@dataclass(frozen=True)
class ListToken:
    """What a subscriber link says: which address (by hash) on which list."""

    list_slug: str
    email_hash: str


def _serializer(settings: Settings, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        verifying_keys(settings),
        salt=f"mailer.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def _timed(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        verifying_keys(settings),
        salt=f"mailer.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def make_token(settings: Settings, purpose: str, list_slug: str, email_hash: str) -> str:
    """Sign ``(list_slug, email_hash)`` for ``purpose`` ("unsubscribe", "preferences")."""
    return str(_serializer(settings, purpose).dumps([list_slug, email_hash]))


def read_token(settings: Settings, purpose: str, token: str) -> ListToken:
    """Verify a token made by :func:`make_token`; raise ``InvalidToken`` if it is not ours."""
    try:
        data = _serializer(settings, purpose).loads(token)
    except BadSignature as exc:
        raise InvalidToken("This link is not valid. It may have been mistyped.") from exc
    return _as_list_token(data)


def make_confirm_token(settings: Settings, list_slug: str, email_hash: str) -> str:
    """Sign a double opt-in confirmation; it expires after ``lists.confirm_ttl_hours``."""
    return str(_timed(settings, "confirm").dumps([list_slug, email_hash]))


def read_confirm_token(settings: Settings, token: str) -> ListToken:
    """Verify a confirmation token, refusing expired ones."""
    max_age = settings.lists.confirm_ttl_hours * 3600
    try:
        data = _timed(settings, "confirm").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken("This confirmation link has expired. Please subscribe again.") from exc
    except BadSignature as exc:
        raise InvalidToken("This confirmation link is not valid.") from exc
    return _as_list_token(data)


def make_draft_token(settings: Settings, issue_slug: str) -> str:
    """Sign a draft link to ``issue_slug``; it expires after ``web.draft_link_hours``."""
    return str(_timed(settings, "draft").dumps(issue_slug))


def read_draft_token(settings: Settings, token: str) -> str:
    """The issue slug of a draft link; ``InvalidToken`` if forged or expired."""
    max_age = settings.web.draft_link_hours * 3600
    try:
        data = _timed(settings, "draft").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken(
            "This draft link has expired. Ask the editor for a new test copy."
        ) from exc
    except BadSignature as exc:
        raise InvalidToken("This draft link is not valid.") from exc
    if not isinstance(data, str):
        raise InvalidToken("This draft link is not valid.")
    return data


def _as_list_token(data: object) -> ListToken:
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not all(isinstance(item, str) for item in data)
    ):
        raise InvalidToken("This link is not valid.")
    return ListToken(list_slug=data[0], email_hash=data[1])


# --- public URLs -------------------------------------------------------------------


def _base(settings: Settings) -> str:
    return settings.site.base_url.rstrip("/")


def unsubscribe_url(settings: Settings, token: str) -> str:
    """The page (GET) and RFC 8058 one-click endpoint (POST) for a subscriber."""
    return f"{_base(settings)}/u/{token}"


def preferences_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/preferences/{token}"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/confirm/{token}"


def draft_path(token: str) -> str:
    """Where a draft link (test copies, the preview) opens, relative to the site."""
    return f"/drafts/{token}/"


def draft_url(settings: Settings, issue_slug: str) -> str:
    """A fresh signed, expiring link to the draft web version of ``issue_slug``."""
    return _base(settings) + draft_path(make_draft_token(settings, issue_slug))


def subscribe_url(settings: Settings, list_slug: str) -> str:
    return f"{_base(settings)}/subscribe/{quote(list_slug)}"


def home_url(settings: Settings) -> str:
    """The site's home page: every public newsletter, with its subscribe link."""
    return f"{_base(settings)}/"


def archive_url(settings: Settings) -> str:
    """The list of every published issue."""
    return f"{_base(settings)}/issues/"


def issue_url(settings: Settings, issue_slug: str) -> str:
    """The web version of an issue ("view in browser", archive entry)."""
    return f"{_base(settings)}/issues/{quote(issue_slug)}/"


def story_url(settings: Settings, issue_slug: str, story_slug: str) -> str:
    """A story's own page: where "Read more" points when the story has no url."""
    return f"{_base(settings)}/issues/{quote(issue_slug)}/{quote(story_slug)}/"


def feed_url(settings: Settings, list_slug: str) -> str:
    return f"{_base(settings)}/lists/{quote(list_slug)}/feed.xml"
