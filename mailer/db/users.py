"""The users store: editors and operators who log in to the web app.

SQL only: the rules (username and password policy, argon2id hashing, session
stamps, users from configuration) are in ``mailer.accounts``, which also owns
the transactions. A plain password never reaches this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from mailer.db.models import User


def password_hash(session: Session, username: str) -> str | None:
    """The stored hash of ``username``'s password, or None if there is no such user."""
    return session.scalar(select(User.password_hash).where(User.username == username))


def session_generation(session: Session, username: str) -> int | None:
    """``username``'s session generation, or None if there is no such user."""
    return session.scalar(select(User.session_generation).where(User.username == username))


def add(session: Session, username: str, digest: str, now: datetime) -> bool:
    """Create ``username`` with password hash ``digest``; False if the name is taken."""
    if password_hash(session, username) is not None:
        return False
    session.execute(
        insert(User).values(
            username=username, password_hash=digest, created_at=now, session_generation=1
        )
    )
    return True


def set_password(session: Session, username: str, digest: str) -> bool:
    """Give ``username`` a new password hash and end their sessions; False if no such user."""
    result = session.execute(
        update(User)
        .where(User.username == username)
        .values(password_hash=digest, session_generation=User.session_generation + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remove(session: Session, username: str) -> bool:
    """Delete ``username``; False if there was no such user."""
    result = session.execute(delete(User).where(User.username == username))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_sessions(session: Session, username: str | None = None) -> int:
    """Bump the session generation of ``username`` (or of every user); return how many."""
    query = update(User).values(session_generation=User.session_generation + 1)
    if username is not None:
        query = query.where(User.username == username)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


def all_users(session: Session) -> list[tuple[str, datetime]]:
    """(username, created at) of every database user, by name."""
    rows = session.execute(select(User.username, User.created_at).order_by(User.username))
    return [(name, created) for name, created in rows]
