"""The Jinja2 environments templates render in.

Autoescape is on for every HTML/MJML template and off for the text part;
``StrictUndefined`` turns a variable the template uses but the issue does not
define into an error naming the template and the variable, never an empty
string. One environment per (templates folder, language, kind), cached, so
templates compile once per process.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from mailer.compose.i18n import long_date, translations
from mailer.content import markdown
from mailer.errors import TemplateError


def _markdown_filter(value: str | None, top_heading: int | None = None) -> Markup:
    return markdown.to_html(value or "", top_heading)


def _markdown_text_filter(value: str | None) -> str:
    return markdown.to_text(value or "")


def _wrap_filter(value: str, prefix: str = "", indent: str = "") -> str:
    return markdown.wrap_text(value, prefix, indent)


def _underline(value: str, char: str = "=") -> str:
    return f"{value}\n{char * min(len(value), markdown.TEXT_WIDTH)}"


@lru_cache(maxsize=32)
def environment(templates_dir: Path, language: str, html: bool = True) -> jinja2.Environment:
    """A cached environment for one folder, language and kind (HTML or text)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Compiled templates are kept on disk (keyed by source checksum), so a
        # one-shot `mailer build` does not compile them again each run.
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["markdown"] = _markdown_filter
    env.filters["markdown_text"] = _markdown_text_filter
    env.filters["wrap"] = _wrap_filter
    env.filters["underline"] = _underline
    env.filters["long_date"] = lambda value: long_date(value, language)
    return env


def _template_frame(exc: BaseException) -> str:
    """``file, line N`` of the innermost template frame in ``exc``'s traceback."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            where = f"{frame.filename}, line {frame.lineno}"
    return where


@contextmanager
def template_errors(name: str) -> Iterator[None]:
    """Turn Jinja errors while rendering ``name`` into one-line ``TemplateError``s."""
    try:
        yield
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name} not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}, line {exc.lineno}: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        where = _template_frame(exc) or name
        raise TemplateError(
            f"{where}: {exc.message} (the template uses a variable the issue does not define)"
        ) from exc


def render(
    templates_dir: Path,
    name: str,
    language: str,
    context: dict[str, Any],
    html: bool = True,
) -> str:
    """Render template ``name`` (relative to ``templates_dir``) with ``context``."""
    with template_errors(name):
        template = environment(templates_dir, language, html).get_template(name)
        return template.render(context)
