"""List files: ``lists/<slug>.toml`` declares a list; ``mailer lists sync`` applies them.

A list file holds the list's display data and sender identity::

    name = "China AI2X Briefing"
    description = "What happened in Chinese AI this week."
    from_name = "China AI2X"
    from_email = "briefing@example.org"
    reply_to = "editors@example.org"     # optional
    language = "en"
    template = "default"
    double_opt_in = true
    postal_address = "Example Media, 1 Example Street, 1000 Brussels, Belgium"
    welcome = "welcome/china-ai2x"       # optional: see mailer.lists.welcome

Every problem is reported with the file and the field, all at once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.errors import InvalidEmail, Problem, ValidationError
from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem
from mailer.lists import welcome
from mailer.lists.addresses import normalise_email

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
TEMPLATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


@dataclass(frozen=True)
class ListFile:
    """A validated list declaration (the fields of ``MailingList`` but id and times)."""

    slug: str
    name: str
    description: str
    from_name: str
    from_email: str
    reply_to: str
    language: str
    template: str
    double_opt_in: bool
    postal_address: str
    welcome: str = ""

    def fields(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("slug")
        return data


# field -> (type, required, default)
_FIELDS: dict[str, tuple[type, bool, Any]] = {
    "name": (str, True, None),
    "description": (str, False, ""),
    "from_name": (str, True, None),
    "from_email": (str, True, None),
    "reply_to": (str, False, ""),
    "language": (str, False, "en"),
    "template": (str, False, "default"),
    "double_opt_in": (bool, False, True),
    "postal_address": (str, True, None),
    "welcome": (str, False, ""),
}
_MAX_LEN = {"name": 200, "from_name": MAX_DISPLAY_NAME, "language": 20}
# Fields that end up in mail headers (the name is in List-Id and confirmations).
_HEADER_FIELDS = ("name", "from_name", "from_email", "reply_to")


def parse_list_file(path: Path) -> ListFile:
    """Read and validate one list file; raise ``ValidationError`` naming every problem."""
    file = str(path)
    problems: list[Problem] = []
    slug = path.stem
    if not SLUG.fullmatch(slug):
        problems.append(
            Problem(file, "", "the file name must be a slug: lower-case letters, digits, hyphens")
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not UTF-8 text ({exc.reason})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not valid TOML: {exc}")]) from exc
    values: dict[str, Any] = {}
    for key in sorted(set(data) - set(_FIELDS)):
        problems.append(Problem(file, key, f"unknown field (known: {', '.join(_FIELDS)})"))
    for key, (kind, required, default) in _FIELDS.items():
        if key not in data:
            if required:
                problems.append(Problem(file, key, "required field is missing"))
            values[key] = default
            continue
        value = data[key]
        if not isinstance(value, kind):
            problems.append(Problem(file, key, f"must be a {kind.__name__}, not {value!r}"))
            values[key] = default
            continue
        if isinstance(value, str):
            value = value.strip()
            if required and not value:
                problems.append(Problem(file, key, "must not be empty"))
            if key in _MAX_LEN and len(value) > _MAX_LEN[key]:
                problems.append(Problem(file, key, f"longer than {_MAX_LEN[key]} characters"))
            if key in _HEADER_FIELDS:
                problem = one_line_problem(value)
                if problem is not None:
                    problems.append(Problem(file, key, problem))
                    value = default
        values[key] = value
    for key in ("from_email", "reply_to"):
        if isinstance(values[key], str) and values[key]:
            try:
                values[key] = normalise_email(values[key])
            except InvalidEmail as exc:
                problems.append(Problem(file, key, exc.message))
    if isinstance(values["language"], str):
        try:
            Locale.parse(values["language"].replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            problems.append(
                Problem(file, "language", f"unknown language {values['language']!r} (e.g. en, nl)")
            )
    if isinstance(values["template"], str) and not TEMPLATE.fullmatch(values["template"]):
        problems.append(Problem(file, "template", "must be a template folder name"))
    if problems:
        raise ValidationError(problems)
    return ListFile(slug=slug, **values)


def load_list_files(directory: Path, templates_dir: Path | None = None) -> list[ListFile]:
    """Validate every ``*.toml`` in ``directory``; all problems of all files at once.

    With ``templates_dir``, a list naming a template that is not a folder there
    is a problem too.
    """
    if not directory.is_dir():
        raise ValidationError([Problem(str(directory), "", "lists folder not found")])
    found: list[ListFile] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            lf = parse_list_file(path)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        if templates_dir is not None and not (templates_dir / lf.template).is_dir():
            problems.append(
                Problem(str(path), "template", f"no template {lf.template!r} in {templates_dir}")
            )
        if templates_dir is not None and lf.welcome:
            problems.extend(_welcome_problems(lf, directory, templates_dir, path))
        found.append(lf)
    if problems:
        raise ValidationError(problems)
    return found


def _welcome_problems(
    lf: ListFile, directory: Path, templates_dir: Path, path: Path
) -> list[Problem]:
    """Everything wrong with the welcome a list file names, checked before any sync."""
    try:
        source = welcome.resolve(lf.welcome, directory, templates_dir, str(path))
        if source.is_message:
            welcome.read_message(source.folder)
    except ValidationError as exc:
        return exc.problems
    return []


@dataclass(frozen=True)
class SyncResult:
    slug: str
    action: str  # created | updated | unchanged


def sync_lists(db: Database, settings: Settings) -> list[SyncResult]:
    """Make the lists in the database match the list files (create, update).

    Lists whose file is gone are kept, with their subscribers: deleting people
    is never a side effect of deleting a file. All files are validated before
    anything is written, and the changes are applied in one transaction.
    """
    files = load_list_files(
        settings.path(settings.paths.lists_dir), settings.path(settings.paths.templates_dir)
    )
    results = []
    with db.session() as session:
        for lf in files:
            results.append(SyncResult(lf.slug, store.upsert_list(session, lf.slug, lf.fields())))
    return results
