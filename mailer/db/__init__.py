"""The data layer: engine, sessions and migrations.

Everything that talks SQL lives under ``mailer.db``; the pipeline stages call
its functions and never build sessions of their own. One code path serves
SQLite (the embedded default) and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Settings, sqlite_file
from mailer.errors import Hint, MailerError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (the web app, reports) run beside the worker's writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL mode and foreign keys."""
    if make_url(url).get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


class Database:
    """An engine plus a session factory for one settings object."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url, echo=settings.database.echo)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head", settings: Settings | None = None) -> None:
        """Bring the schema up to ``revision`` with Alembic.

        ``settings`` lets data migrations read the project's files (the issue
        folders that give existing sends their published snapshot).
        """
        from alembic import command

        cfg = alembic_config(self.url)
        cfg.attributes["settings"] = settings
        command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def schema_problem(self) -> MailerError | None:
        """Why the schema is not ready for use, as the error to raise (None when it is).

        Also answers, rather than raising, when the server cannot be reached.
        A missing or outdated schema carries ``Hint.UPGRADE_DATABASE``.
        """
        from sqlalchemy.exc import OperationalError

        try:
            current = self.current_revision()
        except OperationalError as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            return MailerError(f"cannot open the database {where}: {reason}")
        if current is None:
            return MailerError("the database has no tables yet", hint=Hint.UPGRADE_DATABASE)
        head = head_revision()
        if current != head:
            return MailerError(
                f"the database schema is at revision {current}, this mailer needs {head}",
                hint=Hint.UPGRADE_DATABASE,
            )
        return None

    def dispose(self) -> None:
        self.engine.dispose()


@functools.cache
def head_revision() -> str | None:
    """The latest migration this mailer ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` pointing at the packaged migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
