"""The data layer: engine, sessions, migrations, and all SQL.

Everything that talks SQL lives under ``mailer.db``, one store module per
stage (``subscribers``, ``browse``, ``imports``, ``history``, ``welcomes`` for
lists; ``outbox``, ``sends``, ``mailqueue``, ``leases``, ``guardrails`` for
delivery; ``snapshots`` for the archive; ``events`` and ``engagement`` for feedback; ``reports``;
``users`` for web logins). Store functions take a ``Session`` first and never
commit: the stage services (``mailer.lists``, ``mailer.deliver``, ``mailer.reports``,
``mailer.accounts``…) open the session with :meth:`Database.session`, so each
service owns its transaction. The front doors (web, CLI) call the services.
One code path serves SQLite (the embedded default) and PostgreSQL.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Settings, sqlite_file
from mailer.errors import Hint, MailerError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


IN_LIST_CHUNK = 2000  # parameters per IN list: well under SQLite's limit of 32,766


def in_chunks(items: Sequence[Any], size: int = IN_LIST_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices small enough for one ``IN (…)`` list each."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    engine = create_engine(url, echo=echo)
    _ping_idle_connections(engine)
    return engine


# A pooled connection that sat idle this long is pinged before use.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has been idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one round trip
    more for every request and every batch, a third of the database time of a
    one-click unsubscribe. A connection checked in a moment ago is alive;
    one that idled (and may have been closed by a server restart, an idle
    timeout or a firewall) is checked, and replaced if dead, as before.
    """

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checkout)


class Database:
    """An engine plus a session factory for one settings object."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite has one writer: threads taking turns in quick_session wait on
        # a lock that wakes them at once, rather than in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms and ruins tail latency under load.
        self._sqlite_writer = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url, echo=settings.database.echo)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def session(self, *, autocommit: bool = False) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        ``autocommit`` (PostgreSQL; SQLite ignores it): every statement commits
        by itself, without the round trips of BEGIN and COMMIT. Only for work
        that is one writing statement (atomic by itself), with reads.
        """
        if autocommit and not self.is_sqlite:
            # Bound to one connection and never begun: no ORM transaction to
            # set up and tear down.
            with (
                self._autocommit.connect() as conn,
                Session(conn, expire_on_commit=False) as session,
            ):
                yield session
            return
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def quick_session(self) -> Iterator[Session]:
        """A session for one short write on a hot path (the one-click unsubscribe).

        On PostgreSQL it runs in autocommit mode: give it only work that is a
        single statement (atomic by itself), and it saves the BEGIN and COMMIT
        round trips. On SQLite it is a transaction like :meth:`session`, taken
        in turn with the other quick sessions of this process.
        """
        if self.is_sqlite:
            with self._sqlite_writer, self.sessionmaker() as session, session.begin():
                yield session
            return
        with self.session(autocommit=True) as session:
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
