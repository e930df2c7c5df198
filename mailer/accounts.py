"""Web app accounts: who may log in, password policy and hashing, session stamps.

The ``mailer users`` commands and the web app's login both call these; the
SQL is in ``mailer.db.users``. Passwords are kept as argon2id hashes
(argon2-cffi); a plain password never reaches the database. Users can also
come from configuration (``web.users``), for deployments that keep state out
of the database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import users as store
from mailer.errors import ConflictError, Hint, NotFoundError, UserError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as much
# time as a wrong password and login timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class UserInfo:
    username: str
    source: str  # "database" or "config"
    created_at: datetime | None


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` after checking its length."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: use at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_username(username: str) -> None:
    """``UserError`` unless ``username`` is 1-100 letters, digits, or . _ @ -."""
    if not USERNAME_RE.match(username):
        raise UserError(
            f"username {username!r} is not valid: use 1-100 letters, digits, or . _ @ -"
        )


def add_user(db: Database, username: str, password: str, *, replace: bool = False) -> None:
    """Create ``username`` (or, with ``replace``, set a new password for it)."""
    check_username(username)
    digest = hash_password(password)
    with db.session() as session:
        if store.add(session, username, digest, utcnow()):
            return
        if not replace:
            raise ConflictError(f"user {username!r} already exists", hint=Hint.REPLACE_USER)
        # New credentials: every session opened with the old ones ends.
        store.set_password(session, username, digest)


def remove_user(db: Database, username: str) -> None:
    """Delete ``username``; raise ``NotFoundError`` if there is no such user."""
    with db.session() as session:
        if not store.remove(session, username):
            raise NotFoundError(f"no user {username!r} in the database")


def logout_all(db: Database, username: str | None = None) -> int:
    """End every session of ``username`` (or of every database user); return users affected.

    Raises ``NotFoundError`` for a name that is not in the database.
    """
    with db.session() as session:
        count = store.end_sessions(session, username)
    if username is not None and not count:
        raise NotFoundError(f"no user {username!r} in the database")
    return count


def session_stamp(db: Database, settings: Settings, username: str) -> str | None:
    """What a session of ``username`` must carry to be valid; None if the user is gone.

    A database user's stamp is their session generation (bumped by a password
    change and ``logout_all``); a configured user's is derived from their
    hash, so changing it in the configuration ends their sessions.
    """
    with db.session() as session:
        generation = store.session_generation(session, username)
    if generation is not None:
        return f"db:{generation}"
    configured = settings.web.users.get(username)
    if configured is not None:
        digest = hashlib.sha256(configured.get_secret_value().encode("utf-8")).hexdigest()
        return f"config:{digest[:32]}"
    return None


def list_users(db: Database, settings: Settings) -> list[UserInfo]:
    """Every user who can log in: database users, then those from configuration."""
    with db.session() as session:
        rows = store.all_users(session)
    users = [UserInfo(name, "database", created) for name, created in rows]
    users += [UserInfo(name, "config", None) for name in sorted(settings.web.users)]
    return users


def authenticate(db: Database, settings: Settings, username: str, password: str) -> bool:
    """Return True when ``password`` is right for ``username`` (database or config).

    Runs one argon2 verification whatever happens, so the answer's timing does
    not tell whether the user exists.
    """
    with db.session() as session:
        stored = store.password_hash(session, username)
    if stored is None and username in settings.web.users:
        stored = settings.web.users[username].get_secret_value()
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None
