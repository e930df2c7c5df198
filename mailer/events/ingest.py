"""Feeding events in: batches into the database, and replay from files.

``mailer events ingest FILE…`` reads JSON payloads (one document per file, a
JSON array, or one document per line), either SES payloads or SNS envelopes
around them. Every file is checked before anything is stored: a bad line is
reported as ``FILE:LINE: field: what`` and nothing is ingested, so fixing the
file and running again is always safe (events dedupe).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import ParseError, Problem, ValidationError
from mailer.events.parse import FeedbackEvent, parse_document
from mailer.events.policy import IngestResult, Policy, process, rematch_orphans

BATCH = 5000  # events per transaction when replaying files


def ingest(db: Database, settings: Settings, events: Sequence[FeedbackEvent]) -> IngestResult:
    """Store and act on ``events`` in one transaction."""
    with db.session() as session:
        return process(session, events, Policy.from_settings(settings))


def ingest_batches(
    db: Database, settings: Settings, events: Iterable[FeedbackEvent], batch: int = BATCH
) -> IngestResult:
    """Ingest a long stream of events, one transaction per ``batch`` events."""
    total = IngestResult()
    chunk: list[FeedbackEvent] = []
    for ev in events:
        chunk.append(ev)
        if len(chunk) >= batch:
            total.add(ingest(db, settings, chunk))
            chunk = []
    if chunk:
        total.add(ingest(db, settings, chunk))
    return total


def _documents(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, JSON text) for each document in a file; line 0 = whole file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError([Problem(str(path), "", f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(str(path), "", f"not UTF-8: {exc.reason}")]) from exc
    stripped = text.strip()
    if not stripped:
        raise ValidationError([Problem(str(path), "", "empty file: no events")])
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        # Not one document: JSON lines.
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield number, line
        return
    if isinstance(data, list):
        for item in data:
            yield 0, json.dumps(item)
    else:
        yield 0, stripped


def read_files(paths: Sequence[Path], source: str = "file") -> list[FeedbackEvent]:
    """Parse every file; raise ``ValidationError`` listing each bad document."""
    events: list[FeedbackEvent] = []
    problems: list[Problem] = []
    for path in paths:
        for line, raw in _documents(path):
            where = f"{path}:{line}" if line else str(path)
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                problems.append(Problem(where, "", f"not valid JSON: {exc}"))
                continue
            try:
                events.extend(parse_document(data, raw, source))
            except ParseError as exc:
                problems.append(Problem(where, exc.path, str(exc).removeprefix(f"{exc.path}: ")))
    if problems:
        raise ValidationError(problems)
    return events


def ingest_files(db: Database, settings: Settings, paths: Sequence[Path]) -> IngestResult:
    """Replay feedback files: all parsed first, then stored in batches."""
    return ingest_batches(db, settings, read_files(paths))


def rematch(db: Database, limit: int = 10_000) -> IngestResult:
    """Match stored orphans again, in one transaction (``policy.rematch_orphans``)."""
    with db.session() as session:
        return rematch_orphans(session, limit)
