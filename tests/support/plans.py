"""Query plans of the statements a piece of code sends, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from psycopg import sql as psql
from sqlalchemy import event
from sqlalchemy.orm import Session

from mailer.db import Database

_PG_TYPES = {str: "text", datetime: "timestamp", int: "bigint", type(None): "text"}


def plan_of(db: Database, run: Callable[[Session], object], match: str = "") -> str:
    """The query plan of the last statement ``run`` sends (that contains
    ``match``), as the database words it."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        sent.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.session() as s:
            run(s)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, params = [(st, p) for st, p in sent if match in st][-1]
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            return " ".join(str(row[-1]) for row in rows)
        # An empty table is cheapest to read whole: ask for the plan a big one
        # gets, and the generic one a long-lived worker's prepared statement
        # ends up with (planned without knowing its parameters).
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
        for n, name in enumerate(names, 1):
            statement = statement.replace(f"%({name})s", f"${n}")
        types = [_PG_TYPES[type(params[name])] for name in names]
        conn.exec_driver_sql(f"PREPARE sweep ({', '.join(types)}) AS {statement}")
        # EXPLAIN takes no bound parameters: the values go in as literals.
        values = psql.SQL(", ").join(psql.Literal(params[name]) for name in names)
        explain = psql.SQL("EXPLAIN EXECUTE sweep ({})").format(values)
        raw = conn.connection.driver_connection
        plan = " ".join(row[0] for row in conn.exec_driver_sql(explain.as_string(raw)))
        conn.exec_driver_sql("DEALLOCATE sweep")
        return plan
