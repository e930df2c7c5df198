"""CSV import: ``mailer subscribers import FILE.csv --list SLUG``.

The file is streamed (``csv`` over a text stream, a batch of rows in memory at
a time). The header maps columns: ``email`` is required, ``name`` fills the
subscriber's name, every other column becomes an attribute. Bad rows are
reported with their line number and reason and written to a rejects CSV; all
good rows are kept.

The import is **atomic**: it runs in one database transaction, committed only
after the last row. A file-level problem found anywhere (wrong encoding, a
binary file, an absurdly long line, no email column) rolls everything back, so
the database is either untouched or holds the whole file. ``--dry-run`` runs
the same import and rolls back, so its counts are exact. Imports take turns
(a lock held for the transaction), so two at once create no duplicates.
"""

from __future__ import annotations

import codecs
import csv
import os
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.csvcells import cell, uncell
from mailer.db import Database
from mailer.db import imports as sql
from mailer.db import subscribers as store
from mailer.errors import (
    ConflictError,
    Hint,
    ImportFileError,
    InvalidEmail,
)
from mailer.lists import welcome as welcome_mail
from mailer.lists.addresses import email_hash, needs_smtputf8, normalise_email
from mailer.lists.people import name_problem
from mailer.status import SubscriptionStatus as Status

MAX_LINE_CHARS = 1_000_000
BATCH_ROWS = 5000
EMAIL_HEADERS = ("email", "e-mail", "email address", "e-mail address", "email_address", "mail")
NAME_HEADERS = ("name", "full name", "full_name")
# Bookkeeping columns of ``mailer subscribers export``: an exported file can be
# imported again without these turning into attributes.
EXPORT_ONLY_HEADERS = (
    "status",
    "status_reason",
    "status_changed_at",
    "created_at",
    "source",
    "suppressed",
)
MAX_ATTRIBUTE_KEY = 100
SMTPUTF8_NOTICE = (
    "warning: {} has a non-ASCII part before the @: only SMTPUTF8 could deliver it, "
    "which mailer does not use; kept, but sends will mark it failed"
)

csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_CHARS))


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    values: list[str]


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    file: Path
    list_slug: str
    dry_run: bool
    rows: int = 0  # data rows read (blank lines not counted)
    added: int = 0
    already: int = 0
    kept_unsubscribed: int = 0
    suppressed: int = 0
    duplicates: int = 0  # rows merged into an earlier row for the same address
    created_people: int = 0
    updated_people: int = 0
    rejected: int = 0
    smtputf8: int = 0  # kept, but only deliverable with SMTPUTF8, which mailer does not use
    welcomed: int = 0  # welcome mails queued (only with ``welcome=True``)
    rejects_file: Path | None = None
    columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        parts = [
            f"{self.rows} rows read",
            f"{verb} {self.added} to {self.list_slug}",
            f"{self.already} already subscribed",
            f"{self.kept_unsubscribed} unsubscribed (left unsubscribed)",
            f"{self.suppressed} suppressed (skipped)",
            f"{self.duplicates} duplicates merged",
            f"{self.updated_people} people updated",
            f"{self.rejected} rejected",
        ]
        if self.smtputf8:
            parts.append(f"{self.smtputf8} need SMTPUTF8 (kept, but mailer cannot send to them)")
        if self.welcomed:
            parts.append(
                f"{self.welcomed} welcome mails {'would be ' if self.dry_run else ''}queued"
            )
        return ", ".join(parts)


def _sniff_bytes(path: Path, head: bytes) -> None:
    if not head:
        raise ImportFileError(path, "", "the file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(path, "", "the file is UTF-16 text; save it as UTF-8 CSV")
    if b"\x00" in head:
        raise ImportFileError(
            path, "", "this is a binary file (it contains NUL bytes), not CSV text"
        )


def _lines(path: Path, raw: IO[bytes], encoding: str, counter: list[int]) -> Iterator[str]:
    """The file's lines, decoded one by one (so an encoding error names its line).

    Refuses any line longer than ``MAX_LINE_CHARS``.
    """
    while True:
        data = raw.readline(MAX_LINE_CHARS + 1)
        if not data:
            counter[1] = 1  # the end of the file: see _next_record
            return
        counter[0] += 1
        if len(data) > MAX_LINE_CHARS and not data.endswith(b"\n"):
            raise ImportFileError(
                path,
                f"line {counter[0]}",
                f"longer than {MAX_LINE_CHARS:,} bytes: this does not look like a subscriber CSV",
            )
        if b"\x00" in data:
            raise ImportFileError(
                path, f"line {counter[0]}", "contains NUL bytes: binary data, not CSV text"
            )
        if counter[0] == 1 and encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # the byte-order mark Excel writes
        try:
            yield data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                path,
                f"line {counter[0]}",
                f"not valid {encoding} text (byte 0x{data[exc.start]:02x} at column "
                f"{exc.start + 1}); save the file as UTF-8",
                hint=Hint.CHOOSE_ENCODING,
                field="encoding",
            ) from exc


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(frozen=True)
class _Columns:
    names: list[str]
    email: int
    name: int | None
    attributes: list[tuple[int, str]]
    exported: bool  # written by `mailer subscribers export`: cells were neutralised


def _columns(path: Path, header: list[str]) -> _Columns:
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    for i, n in enumerate(names):
        if not n:
            raise ImportFileError(path, "header", f"column {i + 1} has no name")
        if lowered.index(n.lower()) != i:
            raise ImportFileError(path, "header", f"column {n!r} appears twice")
        if len(n) > MAX_ATTRIBUTE_KEY:
            raise ImportFileError(
                path, "header", f"column {i + 1}: name longer than {MAX_ATTRIBUTE_KEY}"
            )
    email = next((lowered.index(h) for h in EMAIL_HEADERS if h in lowered), None)
    if email is None:
        shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
        raise ImportFileError(
            path, "header", f"no email column (the header is: {shown}); name one column 'email'"
        )
    name = next((lowered.index(h) for h in NAME_HEADERS if h in lowered), None)
    attributes = [
        (i, n)
        for i, n in enumerate(names)
        if i not in (email, name) and n.lower() not in EXPORT_ONLY_HEADERS
    ]
    exported = {"email", "name", *EXPORT_ONLY_HEADERS} <= set(lowered)
    return _Columns(names, email, name, attributes, exported)


ProgressFn = Callable[[int, int], None]  # (bytes read, total bytes)
RejectFn = Callable[[Reject], None]


def import_csv(
    db: Database,
    settings: Settings,
    path: Path,
    list_slug: str,
    *,
    dry_run: bool = False,
    encoding: str = "utf-8",
    rejects_path: Path | None = None,
    on_reject: RejectFn | None = None,
    on_progress: ProgressFn | None = None,
    batch_rows: int = BATCH_ROWS,
    on_notice: RejectFn | None = None,
    welcome: bool = False,
) -> ImportReport:
    """Import subscribers from a CSV file into a list, atomically (see the module doc).

    ``on_reject`` hears of every row left out, ``on_notice`` of every row kept
    with a warning (an address only SMTPUTF8 can deliver).

    Imported people get no welcome mail unless ``welcome`` is set: then
    everyone the import makes active gets the list's welcome, queued in the
    import's transaction.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(path, "", "file not found")
    report = ImportReport(file=path, list_slug=list_slug, dry_run=dry_run)
    rejects = _RejectWriter(rejects_path or default_rejects_path(settings, path))
    total = path.stat().st_size
    check = settings.lists.check_deliverability
    enc = _codec(path, encoding)
    now = utcnow()
    source = f"import:{path.name}"[:100]
    raw = path.open("rb")
    try:
        _sniff_bytes(path, raw.read(8192))
        raw.seek(0)
        counter = [0, 0]  # physical lines read; 1 once the end of the file is reached
        lines = _lines(path, raw, enc, counter)
        first = next(lines, None)
        if first is None or not first.strip():
            raise ImportFileError(path, "line 1", "the header line is empty (or the file is)")
        reader = csv.reader(_chain(first, lines), delimiter=_delimiter(first))
        cols = _columns(path, _next_record(path, reader, counter, start=1) or [])
        report.columns = cols.names
        rejects.header = cols.names
        parsed = _parse_batches(path, raw, reader, cols, counter, check, batch_rows)
        with db.session() as session, closing(_prefetch(parsed)) as batches:
            lst = store.get_list(session, list_slug)
            if welcome and not lst.welcome:
                raise ConflictError(
                    f"list {lst.slug} has no welcome message (set welcome in its file)"
                )
            sql.lock_for_import(session, lst.id)
            for batch in batches:
                report.rows += batch.read
                report.duplicates += batch.duplicates
                for reject in batch.rejects:
                    report.rejected += 1
                    _reject(rejects, on_reject, reject)
                for notice in batch.notices:
                    report.smtputf8 += 1
                    if on_notice:
                        on_notice(notice)
                _flush(session, lst.id, batch.rows, report, rejects, on_reject, source, now)
                if on_progress:
                    on_progress(batch.position, total)
            if welcome:
                report.welcomed = welcome_mail.queue_for_import(session, settings, lst, source, now)
            if dry_run:
                session.rollback()
            elif report.added or report.created_people:
                sql.analyze(session)
    except BaseException:
        rejects.discard()
        raise
    finally:
        raw.close()
    report.rejects_file = rejects.finish()
    return report


def _codec(path: Path, encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ImportFileError(path, "", f"unknown encoding {encoding!r}") from exc
    if "\n,".encode(name) != b"\n,":
        raise ImportFileError(path, "", f"{encoding} is not supported; save the file as UTF-8")
    return "utf-8" if name == "utf-8" else name


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _next_record(path: Path, reader: Any, counter: list[int], start: int = 0) -> list[str] | None:
    """The next record, or None at the end; a file-level error for broken CSV.

    The csv module hands back a quoted field still open at the end of the file
    as if it were closed, swallowing every later line into it. It only reads
    past the last line while a field is still open (a record always ends at
    its line's end otherwise), so a record returned after the end was reached
    is exactly that case.
    """
    start = start or counter[0] + 1
    try:
        record = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        where = f"line {start}" if start == counter[0] else f"lines {start}-{counter[0]}"
        raise ImportFileError(path, where, f"unreadable CSV: {exc}") from exc
    if counter[1]:
        raise ImportFileError(
            path,
            f"line {start}",
            'a quoted field opened on this line is never closed (a " is missing): '
            f"it would swallow lines {start}-{counter[0]}; nothing was imported",
        )
    return record


def _parse_row(cols: _Columns, values: list[str], line: int, check: bool) -> sql.ImportRow | str:
    if cols.exported:
        values = [uncell(v) for v in values]
    if len(values) > len(cols.names):
        return f"{len(values)} fields but the header has {len(cols.names)}"
    raw_email = values[cols.email] if cols.email < len(values) else ""
    if not raw_email.strip():
        return "the email is empty"
    try:
        address = normalise_email(raw_email, check_deliverability=check)
    except InvalidEmail as exc:
        return exc.message
    name = values[cols.name].strip() if cols.name is not None and cols.name < len(values) else ""
    if name:
        problem = name_problem(name)
        if problem is not None:
            return problem
    attributes = {
        key: values[i].strip()
        for i, key in cols.attributes
        if i < len(values) and values[i].strip()
    }
    return sql.ImportRow(line, address, email_hash(address), name, attributes, values)


@dataclass
class _Batch:
    """Parsed rows, unique by address, with what parsing them found."""

    rows: list[sql.ImportRow]
    rejects: list[Reject]
    notices: list[Reject]  # rows kept, with a warning
    read: int  # data rows read, blank ones excluded
    duplicates: int  # rows merged into an earlier row of this batch
    position: int  # bytes of the file read so far


def _parse_batches(
    path: Path,
    raw: IO[bytes],
    reader: Any,
    cols: _Columns,
    counter: list[int],
    check: bool,
    size: int,
) -> Iterator[_Batch]:
    """Parse and validate the data rows, ``size`` distinct addresses per batch."""
    rows: dict[str, sql.ImportRow] = {}
    batch = _Batch([], [], [], 0, 0, 0)
    while True:
        start = counter[0] + 1
        values = _next_record(path, reader, counter)
        if values is None:
            break
        if not any(v.strip() for v in values):
            continue  # blank line or a row of empty cells
        batch.read += 1
        row = _parse_row(cols, values, start, check)
        if isinstance(row, str):
            batch.rejects.append(Reject(start, row, values))
            continue
        if needs_smtputf8(row.email):
            batch.notices.append(Reject(start, SMTPUTF8_NOTICE.format(row.email), values))
        earlier = rows.get(row.email_hash)
        if earlier is not None:
            batch.duplicates += 1
            earlier.name = row.name or earlier.name
            earlier.attributes.update(row.attributes)
            continue
        rows[row.email_hash] = row
        if len(rows) >= size:
            batch.rows, batch.position = list(rows.values()), raw.tell()
            yield batch
            rows, batch = {}, _Batch([], [], [], 0, 0, 0)
    batch.rows, batch.position = list(rows.values()), raw.tell()
    yield batch


T = TypeVar("T")


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Iterate ``items`` in a background thread, up to ``depth`` ahead.

    Parsing (Python) then overlaps the database work of the previous batch
    (the drivers release the GIL while the database works). Exceptions are
    re-raised here; closing this generator stops the thread.
    """
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:
            put(_Failed(exc))

    thread = threading.Thread(target=run, name="csv-parser", daemon=True)
    thread.start()
    try:
        while True:
            got = box.get()
            if got is done:
                return
            if isinstance(got, _Failed):
                raise got.exc
            yield got  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _reject(rejects: _RejectWriter, on_reject: RejectFn | None, reject: Reject) -> None:
    rejects.write(reject)
    if on_reject:
        on_reject(reject)


def _flush(
    session: Any,
    list_id: int,
    rows: list[sql.ImportRow],
    report: ImportReport,
    rejects: _RejectWriter,
    on_reject: RejectFn | None,
    source: str,
    now: Any,
) -> None:
    if not rows:
        return
    counts = sql.merge_batch(
        session, list_id, rows, status=Status.ACTIVE, reason=source, source=source, now=now
    )
    report.added += counts.added
    report.already += counts.already
    report.kept_unsubscribed += counts.kept_unsubscribed
    report.created_people += counts.created_people
    report.updated_people += counts.updated_people
    for row, why in counts.suppressed:
        report.suppressed += 1
        reject = Reject(row.line, f"suppressed ({why}): never mailed, not added", row.values)
        _reject(rejects, on_reject, reject)


def default_rejects_path(settings: Settings, source: Path) -> Path:
    """Where rejected rows go unless ``--rejects`` says otherwise."""
    return settings.path(settings.paths.var_dir) / "rejects" / f"{source.stem}.rejects.csv"


class _RejectWriter:
    """Writes rejected rows (line, reason, original columns) as they come.

    Written to a temporary file renamed at the end, so a failed import leaves
    no misleading rejects file behind; none is created when nothing is rejected.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: list[str] = []
        self._tmp = path.with_name(path.name + ".part")
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def write(self, reject: Reject) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self._tmp.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(["line", "reason", *(cell(h) for h in self.header)])
        self._writer.writerow([reject.line, cell(reject.reason), *(cell(v) for v in reject.values)])

    def finish(self) -> Path | None:
        if self._fh is None:
            return None
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._tmp.unlink(missing_ok=True)
            self._fh = None
