"""Turn pydantic's validation errors into ``Problem``s an editor can act on."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from mailer.content.model import Issue
from mailer.errors import Problem

Loc = tuple[int | str, ...]


def format_path(loc: Iterable[int | str]) -> str:
    """``("sections", 1, "stories", 2, "url")`` -> ``sections[1].stories[2].url``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through lists, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType) or origin is not None:
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    values = typing.get_args(field.annotation) if field is not None else ()
    return str(values[0]) if values else None


def walk(loc: Loc) -> tuple[str, type[BaseModel] | None]:
    """Follow ``loc`` through the models: return its display path and the model at its end.

    Pydantic puts the union member's tag (``feature``/``brief``) into the
    location of errors inside a story; it is dropped from the display path.
    """
    candidates: list[type[BaseModel]] = [Issue]
    shown: list[int | str] = []
    for part in loc:
        if isinstance(part, int):
            shown.append(part)
            continue
        tagged = [m for m in candidates if _tag(m) == part]
        if len(candidates) > 1 and tagged:
            candidates = tagged
            continue
        shown.append(part)
        nxt: list[type[BaseModel]] = []
        for model in candidates:
            field = model.model_fields.get(part)
            if field is not None:
                nxt.extend(_models_in(field.annotation))
        candidates = nxt
    return format_path(shown), (candidates[0] if len(candidates) == 1 else None)


def unknown_key_message(key: str, model: type[BaseModel] | None) -> str:
    """``unknown key "hedline"; did you mean "headline"?`` (or the allowed keys)."""
    if model is None:
        return f'unknown key "{key}"'
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f'unknown key "{key}"; did you mean "{close[0]}"?'
    return f'unknown key "{key}"; allowed keys: {", ".join(allowed)}'


_TYPE_NAMES = {
    "string_type": "text in quotes",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list (write it as [[…]] tables or [ … ])",
    "model_type": "a table",
    "dict_type": "a table",
    "model_attributes_type": "a table",
}


def _got(value: Any) -> str:
    names = {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list"}
    if isinstance(value, dict):
        return "a table"
    return names.get(type(value), type(value).__name__)


def message(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    """A one-line, editor-facing description of one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    loc = error["loc"]
    field = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        parent = walk(loc[:-1])[1]
        return unknown_key_message(field, parent)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]} (got {_got(error.get('input'))})"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"must be a date like 2026-01-31 (got {error.get('input')!r})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return "must have at least one entry"
    if kind == "string_pattern_mismatch":
        if field == "slug":
            return "must be lower-case letters and digits joined by hyphens, e.g. drone-traffic"
        if field == "accent_color":
            return "must be a colour like #b4232a"
        return f"does not match the pattern {ctx.get('pattern')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {k: v for k, v in ctx.items() if k in ("ge", "le", "gt", "lt")}
        words = {"ge": "at least", "le": "at most", "gt": "more than", "lt": "less than"}
        return "must be " + " and ".join(f"{words[k]} {v}" for k, v in bound.items())
    if kind in ("literal_error", "story_kind"):
        return 'must be "feature" or "brief"'
    return str(error["msg"])


def to_problems(file: str, errors: list[ErrorDetails]) -> list[Problem]:
    """Convert every pydantic error to a ``Problem`` of ``file``."""
    problems: list[Problem] = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        if error["type"] == "story_kind":
            loc = (*loc, "kind")
        path, _ = walk(loc)
        model = walk(loc[:-1])[1] if loc else None
        problems.append(Problem(file, path, message(error, model)))
    return problems
