"""Change an issue folder safely: confined paths, validated, atomic, conflict-aware.

The browser editor saves through here. Every change is checked on a copy of
the folder first (``mailer check`` rules), so an invalid save writes nothing;
files are replaced by rename, so a reader never sees half a file; and each
change names the version of the file it was made against, so an edit made on
disk (or in another tab) since the page was loaded is never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mailer.config import Settings
from mailer.content.loader import ISSUE_FILE, check_issue, display, slugify
from mailer.errors import ConflictError, MailerError, NotFoundError, Problem, SaveRefused

EDITABLE = (".toml", ".md")
MAX_FILE_BYTES = 512_000


@dataclass(frozen=True)
class FileProblem:
    """A problem of a save: the file, the line (0 when unknown), the field path, the message."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def version(data: bytes | None) -> str:
    """The version stamp of a file's bytes (``""`` for a file that does not exist)."""
    return "" if data is None else hashlib.sha256(data).hexdigest()[:16]


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """Hold the issue folder's lock: one change at a time, across threads and processes.

    ``flock`` on the folder itself: web workers in several processes share it,
    and it needs no lock file that an editor would see.
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def confine(folder: Path, name: str) -> Path:
    """``folder / name`` if ``name`` is an editable file inside ``folder``; else refuse.

    Refused: absolute paths, ``..``, hidden names, other kinds of file, and any
    symbolic link on the way (a link could point out of the folder).
    """
    rel = PurePosixPath(name)
    bad = (
        not name
        or "\\" in name
        or "\0" in name
        or rel.is_absolute()
        or any(part in ("", ".", "..") or part.startswith(".") for part in rel.parts)
        or rel.suffix not in EDITABLE
        or len(rel.parts) > 3
    )
    if bad:
        raise MailerError(f"{name!r}: not an editable file of this issue (.toml or .md inside it)")
    target = folder
    for part in rel.parts:
        target = target / part
        if target.is_symlink():
            raise MailerError(f"{name!r}: is a symbolic link; links are not edited here")
    if not target.resolve().is_relative_to(folder.resolve()):
        raise MailerError(f"{name!r}: is outside the issue folder")
    return target


def files(folder: Path) -> list[str]:
    """The editable files of the issue: issue.toml, then the rest by name."""
    found: list[str] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        try:
            confine(folder, rel)
        except MailerError:
            continue
        if path.is_file():
            found.append(rel)
    return sorted(found, key=lambda rel: (rel != ISSUE_FILE, rel.count("/"), rel))


def read(folder: Path, name: str) -> tuple[str, str]:
    """The text of file ``name`` and its version."""
    path = confine(folder, name)
    if not path.is_file():
        raise NotFoundError(f"no file {name!r} in this issue")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), version(data)
    except UnicodeDecodeError as exc:
        raise MailerError(f"{name}: not UTF-8 text (byte {exc.start})") from exc


def save(folder: Path, name: str, text: str, expected: str, settings: Settings) -> str:
    """Replace file ``name`` with ``text`` if the issue stays valid; return the new version.

    ``expected`` is the version the editor started from: a different version
    on disk raises ``ConflictError``. Problems raise ``SaveRefused``.
    """
    return change(folder, {name: text}, {name: expected}, settings)[name]


def change(
    folder: Path,
    new: dict[str, str | None],
    expected: dict[str, str],
    settings: Settings,
) -> dict[str, str]:
    """Write several files at once (``None`` deletes one), all checked before any is written."""
    targets = {name: confine(folder, name) for name in new}
    for name, text in new.items():
        if text is not None and len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise MailerError(f"{name}: larger than the {MAX_FILE_BYTES:,} bytes allowed")
    with _lock(folder):
        for name, want in expected.items():
            path = confine(folder, name)
            have = version(path.read_bytes()) if path.is_file() else ""
            if have != want:
                raise ConflictError(
                    f"{name} changed on disk since you opened it; nothing was saved. "
                    "Copy your text, reload the page and apply your change again."
                )
        problems = _check_with(folder, new, settings)
        if problems:
            # A folder broken on disk is mended one save at a time: refuse
            # only what this change makes worse, never its old problems.
            known = {(p.file, p.path, p.message) for p in problems_of(folder, settings)}
            added = [p for p in problems if (p.file, p.path, p.message) not in known]
            if added:
                raise SaveRefused(added)
        stamps: dict[str, str] = {}
        for name, text in new.items():
            path = targets[name]
            if text is None:
                path.unlink(missing_ok=True)
                stamps[name] = ""
                continue
            data = text.encode("utf-8")
            _atomic_write(path, data)
            stamps[name] = version(data)
        return stamps


def problems_of(folder: Path, settings: Settings) -> list[FileProblem]:
    """The issue's problems as they are on disk, each with its file and line."""
    return _check_with(folder, {}, settings)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_with(folder: Path, new: dict[str, str | None], settings: Settings) -> list[FileProblem]:
    """``mailer check`` on a copy of the folder with ``new`` applied."""
    with tempfile.TemporaryDirectory(prefix="mailer-check-") as tmp:
        copy = Path(tmp) / folder.name
        shutil.copytree(folder, copy, symlinks=True)
        for name, text in new.items():
            target = copy / name
            if text is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        problems = check_issue(copy, settings)
        texts = {
            rel: (copy / rel).read_text(encoding="utf-8", errors="replace") for rel in files(copy)
        }
        shown = {display(copy): display(folder), str(copy): str(folder)}
        return [_locate(problem, copy, texts, shown) for problem in problems]


_TOML_LINE = re.compile(r"line (\d+)")
_QUOTED_FILE = re.compile(r'(?:in |file )"([^"]+)"')
_URL = re.compile(r"'([^']+)'")


def _locate(
    problem: Problem, copy: Path, texts: dict[str, str], shown: dict[str, str]
) -> FileProblem:
    """Name the problem's file relative to the folder and find its line."""
    name = ISSUE_FILE
    with contextlib.suppress(ValueError):
        name = Path(problem.file).resolve().relative_to(copy.resolve()).as_posix()
    message = problem.message
    for temporary, real in shown.items():
        # The check ran on a copy: messages name the real folder.
        message = message.replace(temporary, real)
    line = 0
    toml_line = _TOML_LINE.search(message) if not problem.path else None
    if toml_line:
        line = int(toml_line.group(1))
    elif problem.path:
        inner = _QUOTED_FILE.search(message)
        url = _URL.search(message)
        if inner and inner.group(1) in texts and message.startswith("in "):
            name = inner.group(1)
            line = _line_of(texts[name], url.group(1) if url else "")
        else:
            line = toml_line_of(texts.get(ISSUE_FILE, ""), problem.path)
    return FileProblem(name, line, problem.path, message)


def _line_of(text: str, needle: str) -> int:
    if not needle:
        return 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 0


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\s-]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def toml_line_of(text: str, path: str) -> int:
    """The line of ``issue.toml`` that field ``path`` (``sections[1].stories[0].url``) is on.

    The key's line when the key is there, else its table's header line (0: not found).
    """
    head, _, key = path.rpartition(".")
    if path.endswith("]"):
        head, key = path, ""
    while head:
        found = _find(text, head, key)
        if found:
            return found
        # "stories[0].image.src" lives in an inline table: look for "image" instead.
        head, _, key = head.rpartition(".")
    return _find(text, "", key)


def _find(text: str, table: str, key: str) -> int:
    counters: dict[str, int] = {}
    current = ""
    header_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = header.group(2).replace(" ", "").split(".")
            full = ".".join(names)
            if header.group(1) == "[[":
                for other in [k for k in counters if k.startswith(full + ".")]:
                    del counters[other]
                counters[full] = counters.get(full, -1) + 1
            parts = []
            for i, name in enumerate(names):
                prefix = ".".join(names[: i + 1])
                parts.append(f"{name}[{counters[prefix]}]" if prefix in counters else name)
            current = ".".join(parts)
            if current == table:
                header_line = number
                if not key:
                    return number
            continue
        found = _KEY.match(line)
        if found and key and current == table and found.group(1) == key:
            return number
    return header_line


# --- structure: stories and sections -----------------------------------------------


def _edit_toml(
    folder: Path,
    expected: str,
    settings: Settings,
    edit: Callable[[Any], dict[str, str | None]],
) -> None:
    """Apply ``edit`` to the parsed issue.toml (comments kept) and save with its extra files."""
    import tomlkit

    text, _ = read(folder, ISSUE_FILE)
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises its own ParseError family
        raise MailerError(
            f"{ISSUE_FILE} is not valid TOML ({exc}); fix it in the editor first"
        ) from exc
    extra = edit(doc)
    new: dict[str, str | None] = {ISSUE_FILE: tomlkit.dumps(doc), **extra}
    wants = {ISSUE_FILE: expected}
    for name, content in extra.items():
        path = confine(folder, name)
        if content is not None and path.exists():
            raise ConflictError(f"{name} already exists; choose another headline")
        if content is None and path.is_file():
            wants[name] = version(path.read_bytes())
    change(folder, new, wants, settings)


def _sections(doc: Any) -> Any:
    sections = doc.get("sections")
    if sections is None or not hasattr(sections, "__len__"):
        raise MailerError("issue.toml has no [[sections]]")
    return sections


def _index(items: Any, i: int, what: str) -> None:
    if not 0 <= i < len(items):
        raise NotFoundError(f"no {what} {i + 1}")


def add_story(
    folder: Path,
    expected: str,
    settings: Settings,
    section: int,
    headline: str,
    body: str,
    label: str = "",
) -> str:
    """Add a feature with ``headline`` and ``body`` (Markdown) at the end of ``section``.

    ``section`` equal to the number of sections adds a new section (with ``label``).
    Returns the new story file's name.
    """
    import tomlkit

    headline, body = headline.strip(), body.strip()
    if not headline:
        raise MailerError("headline: is required")
    if not body:
        raise MailerError("text: a new story needs its text")
    name = f"stories/{slugify(headline)}.md"

    def edit(doc: Any) -> dict[str, str | None]:
        sections = _sections(doc)
        if section == len(sections):
            table = tomlkit.table()
            if label.strip():
                table["label"] = label.strip()
            table["stories"] = tomlkit.aot()
            sections.append(table)
        _index(sections, section, "section")
        story = tomlkit.table()
        story["headline"] = headline
        story["file"] = name
        sections[section]["stories"].append(story)
        return {name: body + "\n"}

    _edit_toml(folder, expected, settings, edit)
    return name


def move(
    folder: Path, expected: str, settings: Settings, section: int, story: int | None, step: int
) -> None:
    """Move a story (``story`` given) within its section, or a whole section, by ``step``."""

    def edit(doc: Any) -> dict[str, str | None]:
        sections = _sections(doc)
        _index(sections, section, "section")
        items = sections if story is None else sections[section]["stories"]
        i = section if story is None else story
        _index(items, i, "story")
        j = i + step
        if not 0 <= j < len(items):
            raise MailerError("already at the " + ("top" if step < 0 else "bottom"))
        a, b = items[i], items[j]
        items[i], items[j] = b, a
        return {}

    _edit_toml(folder, expected, settings, edit)


def delete_story(folder: Path, expected: str, settings: Settings, section: int, story: int) -> str:
    """Remove a story (and its file, unless another story uses it); return its headline."""
    removed: dict[str, str] = {}

    def edit(doc: Any) -> dict[str, str | None]:
        sections = _sections(doc)
        _index(sections, section, "section")
        stories = sections[section]["stories"]
        _index(stories, story, "story")
        if sum(len(s["stories"]) for s in sections) == 1:
            raise MailerError("an issue needs at least one story; add another before deleting")
        item = stories[story]
        removed["headline"] = str(item.get("headline") or item.get("body", "")[:40])
        file = item.get("file")
        del stories[story]
        if len(stories) == 0:
            del sections[section]
        others = [
            s.get("file") for sec in sections for s in sec["stories"] if s.get("file") == file
        ]
        if isinstance(file, str) and not others and (folder / file).is_file():
            return {str(file): None}
        return {}

    _edit_toml(folder, expected, settings, edit)
    return removed["headline"]
