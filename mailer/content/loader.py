"""Read an issue folder, validate everything, and report every problem at once."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError as PydanticValidationError

from mailer.config import Settings
from mailer.content import markdown
from mailer.content.languages import available_languages, catalog_language
from mailer.content.model import LANGUAGE_RE, SLUG_RE, Brief, Feature, Issue
from mailer.content.problems import format_path, to_problems
from mailer.errors import NotFoundError, Problem, ValidationError

ISSUE_FILE = "issue.toml"


def slugify(text: str, max_words: int = 8) -> str:
    """A URL-safe slug from a headline: ``"Large models, traffic"`` -> ``large-models-traffic``."""
    # Apostrophes join words ("China's" -> "chinas") instead of splitting them.
    text = re.sub(r"(\w)['’](\w)", r"\1\2", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words]) or "story"


def display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resolve_issue_path(ref: str | Path, settings: Settings) -> Path:
    """Find the ``issue.toml`` for a folder, a file, or a slug under ``paths.issues_dir``."""
    candidate = Path(ref)
    for option in (candidate, settings.path(settings.paths.issues_dir) / str(ref)):
        if option.is_dir() and (option / ISSUE_FILE).is_file():
            return option / ISSUE_FILE
        if option.is_file():
            return option
    raise NotFoundError(
        f"no issue {str(ref)!r}: not a folder with {ISSUE_FILE}, nor a slug under "
        f"{display(settings.path(settings.paths.issues_dir))}/"
    )


class _Checker:
    """Checks that need the file system or the whole issue, on the raw TOML data.

    They run on the raw data, not the validated model, so they still report
    their findings when some other part of the issue failed validation.
    """

    def __init__(self, toml_path: Path, data: dict[str, Any], settings: Settings) -> None:
        self.file = display(toml_path)
        self.folder = toml_path.parent
        self.data = data
        self.settings = settings
        self.problems: list[Problem] = []
        self.texts: dict[tuple[int | str, ...], str] = {}

    def add(self, loc: tuple[int | str, ...], message: str) -> None:
        self.problems.append(Problem(self.file, format_path(loc), message))

    def read(self, loc: tuple[int | str, ...], name: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            return
        rel = Path(name)
        target = (self.folder / rel).resolve()
        if rel.is_absolute() or not target.is_relative_to(self.folder.resolve()):
            self.add(loc, f'"{name}" must be a path inside the issue folder')
            return
        if not target.is_file():
            self.add(loc, f'file "{name}" not found in {display(self.folder)}/')
            return
        try:
            text = target.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            self.add(loc, f'file "{name}" is not UTF-8 text (byte {exc.start})')
            return
        if not text.strip():
            self.add(loc, f'file "{name}" is empty')
            return
        self.texts[loc] = text
        self.links(loc, text, f'in "{name}": ')

    def links(self, loc: tuple[int | str, ...], text: Any, where: str = "") -> None:
        """Mail has no base URL: every link and image in Markdown must be absolute."""
        if not isinstance(text, str):
            return
        for kind, url in markdown.urls(text):
            if url.startswith(("mailto:", "tel:", "#")):
                continue
            scheme = urlsplit(url).scheme
            if not scheme:
                self.add(loc, f"{where}{kind} {url!r} is relative; use an absolute https:// URL")
            elif kind == "image" and scheme != "https":
                self.add(loc, f"{where}image {url!r} must use https://")

    def run(self) -> None:
        data = self.data
        language = data.get("language")
        if (
            isinstance(language, str)
            and re.fullmatch(LANGUAGE_RE, language)
            and catalog_language(language) is None
        ):
            self.add(
                ("language",),
                f'no template strings for "{data["language"]}"; available: '
                + ", ".join(available_languages()),
            )
        template = data.get("template") or self.settings.compose.template
        if isinstance(template, str) and template.strip():
            templates = self.settings.path(self.settings.paths.templates_dir)
            if not (templates / template / "email.mjml.j2").is_file():
                where = ("template",) if data.get("template") else ()
                self.add(where, f'template "{template}" not found in {display(templates)}/')
        if data.get("intro") is not None and data.get("intro_file") is not None:
            self.add(("intro_file",), "give either intro or intro_file, not both")
        self.read(("intro_file",), data.get("intro_file"))
        self.links(("intro",), data.get("intro"))
        sections = data.get("sections")
        if isinstance(sections, list):
            self.stories(sections)

    def stories(self, sections: list[Any]) -> None:
        seen: dict[str, str] = {}
        for s, section in enumerate(sections):
            stories = section.get("stories") if isinstance(section, dict) else None
            if not isinstance(stories, list):
                continue
            for i, story in enumerate(stories):
                if not isinstance(story, dict):
                    continue
                loc: tuple[int | str, ...] = ("sections", s, "stories", i)
                self.story(loc, story, seen)

    def story(
        self, loc: tuple[int | str, ...], story: dict[str, Any], seen: dict[str, str]
    ) -> None:
        kind = story.get("kind", "feature")
        has_body = story.get("body") is not None
        has_file = story.get("file") is not None
        if has_body and has_file:
            self.add((*loc, "file"), "give either body or file, not both")
        self.read((*loc, "file"), story.get("file"))
        for key in ("body", "teaser", "why_it_matters"):
            self.links((*loc, key), story.get(key))
        teaser = story.get("teaser")
        if isinstance(teaser, str):
            found = markdown.structures(teaser)
            if found:
                self.add(
                    (*loc, "teaser"),
                    f"a teaser is running text: it must not contain {' or '.join(found)}",
                )
        if not has_body and not has_file:
            if kind == "brief":
                self.add((*loc, "body"), "a brief needs its text: body or file")
            elif kind == "feature" and not (story.get("teaser") and story.get("url")):
                self.add(
                    (*loc, "body"),
                    "a feature needs body or file (or both teaser and url to link elsewhere)",
                )
        slug = story.get("slug") or ""
        headline = story.get("headline")
        if not slug and isinstance(headline, str) and headline.strip():
            slug = slugify(headline)
        if isinstance(slug, str) and slug and re.fullmatch(SLUG_RE, slug):
            here = format_path(loc)
            if slug in seen:
                self.add((*loc, "slug"), f'"{slug}" is already used by {seen[slug]}; set slug')
            else:
                seen[slug] = here


def check_issue(path: Path, settings: Settings) -> list[Problem]:
    """Every problem of the issue at ``path`` (folder or issue.toml); empty when valid."""
    try:
        _load(path, settings)
    except ValidationError as exc:
        return exc.problems
    return []


def load_issue(path: Path, settings: Settings) -> Issue:
    """Load and validate an issue; raise ``ValidationError`` listing every problem."""
    return _load(path, settings)


def _load(path: Path, settings: Settings) -> Issue:
    toml_path = path / ISSUE_FILE if path.is_dir() else path
    file = display(toml_path)
    if not toml_path.is_file():
        raise ValidationError([Problem(file, "", "file not found")])
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not UTF-8 text (byte {exc.start})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not valid TOML: {exc}")]) from exc

    problems: list[Problem] = []
    issue: Issue | None = None
    try:
        issue = Issue.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(to_problems(file, exc.errors()))
    checker = _Checker(toml_path, data, settings)
    checker.run()
    problems.extend(checker.problems)
    if problems or issue is None:
        raise ValidationError(problems)
    return _resolve(issue, toml_path, checker.texts)


def _resolve(issue: Issue, toml_path: Path, texts: dict[tuple[int | str, ...], str]) -> Issue:
    issue._slug = toml_path.parent.name
    issue._folder = toml_path.parent
    if issue.intro_file:
        issue.intro = texts[("intro_file",)]
    for s, section in enumerate(issue.sections):
        for i, story in enumerate(section.stories):
            key: tuple[int | str, ...] = ("sections", s, "stories", i, "file")
            if story.file:
                story.body = texts[key]
            if not story.slug:
                if isinstance(story, Feature):
                    story.slug = slugify(story.headline)
                elif isinstance(story, Brief):
                    story.slug = slugify(story.headline or f"brief-{s + 1}-{i + 1}")
    return issue
