"""A draft as an issue folder: ``issue.toml``, ``intro.md`` and one file per feature.

The TOML is written by hand rather than by a serializer because it carries
comments: where it came from, and the ``# unplaced:`` block holding every
line the draft could not place, so nothing an editor pasted is lost.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from mailer.content.loader import slugify
from mailer.draft.lines import first_sentence
from mailer.draft.model import Draft
from mailer.errors import ConflictError, MailerError

PARAGRAPH = "\n\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def toml_string(value: str) -> str:
    """A TOML basic string (one line)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    out = out.replace("\n", "\\n")
    return '"' + _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", out) + '"'


def toml_text(value: str) -> str:
    """A TOML multi-line basic string for Markdown text."""
    out = value.replace("\\", "\\\\").replace('"""', '""\\"').replace("\t", "\\t")
    out = _CONTROL.sub(lambda m: "" if m.group(0) == "\n" else f"\\u{ord(m.group(0)):04x}", out)
    # A closing quote right before the delimiter would merge with it.
    if out.endswith('"'):
        out = out[:-1] + '\\"'
    return '"""\n' + out + '\n"""'


def comment(text: str) -> str:
    """``text`` safe inside a TOML comment: one line, no control characters."""
    return _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))


def render(draft: Draft, sources: list[str]) -> dict[str, str]:
    """The files of the issue folder: relative path -> text."""
    files: dict[str, str] = {}
    used: set[str] = set()
    out: list[str] = [
        f"# Drafted by `mailer draft` from {comment(', '.join(sources))}.",
        "# Check the title, subject, preheader and newsletter table before sending.",
        "",
        f"title = {toml_string(draft.title)}",
        f"date = {draft.date.isoformat()}",
        f"language = {toml_string(draft.language)}",
    ]
    preheader = _preheader(draft)
    if preheader:
        out.append(f"preheader = {toml_string(preheader)}")
    if draft.intro:
        files["intro.md"] = "\n\n".join(draft.intro) + "\n"
        out.append('intro_file = "intro.md"')
    out += ["", "[newsletter]"]
    out += [f"{key} = {toml_string(value)}" for key, value in draft.newsletter.items()]
    for section in draft.sections:
        out += ["", "[[sections]]"]
        if section.label:
            out.append(f"label = {toml_string(section.label)}")
        for story in section.stories:
            out += ["", "[[sections.stories]]"]
            if story.kind == "brief":
                out.append('kind = "brief"')
                if story.source:
                    out.append(f"source = {toml_string(story.source)}")
                out.append(f"body = {toml_text(story.body)}")
                continue
            out.append(f"headline = {toml_string(story.headline)}")
            if story.subheadline:
                out.append(f"subheadline = {toml_string(story.subheadline)}")
            name = _unique(slugify(story.headline), used)
            if name != slugify(story.headline):
                out.append(f"slug = {toml_string(name)}")
            path = f"stories/{name}.md"
            files[path] = story.body + "\n"
            out.append(f"file = {toml_string(path)}")
            if story.url:
                out.append(f"url = {toml_string(story.url)}")
            if story.why:
                out.append(f"why_it_matters = {toml_text(PARAGRAPH.join(story.why))}")
    if draft.unplaced:
        out += ["", "# unplaced: lines the draft could not place; move them where they belong."]
        out += [f"#   {comment(line)}" for line in draft.unplaced]
    files["issue.toml"] = "\n".join(out) + "\n"
    return files


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(candidate)
    return candidate


def _preheader(draft: Draft) -> str:
    if draft.intro:
        return first_sentence(draft.intro[0])
    for story in draft.stories():
        if story.subheadline:
            return first_sentence(story.subheadline)
        text = re.sub(r"\*\*[^*]+\*\*\s*", "", story.paragraphs[0]) if story.paragraphs else ""
        if text and not text.startswith("#"):
            return first_sentence(text)
    return ""


def write(files: dict[str, str], out: Path, force: bool = False) -> None:
    """Write ``files`` as folder ``out`` in one step; an existing ``out`` only with ``force``.

    The folder is built beside ``out`` and renamed into place, so a reader
    never sees half an issue and a failed write leaves the old folder as it was.
    """
    if out.exists() and not force:
        raise ConflictError(f"{out} already exists; use --force to replace it")
    if out.exists() and not out.is_dir():
        raise MailerError(f"{out} exists and is not a folder")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for path in [staging, *staging.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.rename(out, old / out.name)
            os.rename(staging, out)
            shutil.rmtree(old)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
