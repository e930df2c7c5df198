"""Hostile SES payloads through the queue path: stored or refused, never a crash.

The SQS poller must never be stopped by one message: whatever a payload holds
(NUL characters, lone surrogates, huge or wrongly typed fields), parsing either
yields events or an ``unknown`` record, and storing them never fails on SQLite
or PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mailer.config import Settings
from mailer.events.ingest import ingest
from mailer.events.parse import Kind, parse_message
from tests.support.events import PAYLOADS, World, payload

NAMES = sorted(p.name for p in PAYLOADS.glob("*.json"))
nasty_text = st.text(
    alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF),
    max_size=30,
) | st.sampled_from(["\x00", "\ud800", "a" * 400 + "@example.org", "", "2026-13-45T99:99:99Z"])
leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text
values = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(payload(draw(st.sampled_from(NAMES))))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        where = draw(st.sampled_from(paths))
        target = doc
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = draw(values)
    return doc


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=mutated())
def test_mutated_payloads_never_break_the_queue(
    world: World, settings: Settings, doc: dict[str, Any]
) -> None:
    raw = json.dumps(doc)
    events = parse_message(raw, "sqs", "fuzz-message")
    assert events
    for ev in events:
        assert "\x00" not in ev.payload and "\x00" not in ev.detail
        if ev.kind == Kind.UNKNOWN:
            assert ev.email is None
    result = ingest(world.db, settings, events)  # must not raise
    assert result.received == len(events)


def test_nul_and_lone_surrogates_are_stored(world: World, settings: Settings) -> None:
    doc = payload("event-bounce-permanent.json")
    doc["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = "smtp; 550 \x00 bad\ud800"
    doc["mail"]["headers"].append({"name": "X-Odd", "value": "\x00\udfff"})
    doc["bounce"]["feedbackId"] = "fb-\ud800"
    (event,) = parse_message(json.dumps(doc), "sqs", "m1")
    assert event.kind == Kind.BOUNCE and "\\u0000" in event.detail
    result = ingest(world.db, settings, [event])
    assert result.new == 1 and result.suppressed == 1
    assert world.recipient("alice").bounce_type == "hard"


def test_a_bad_recipient_makes_the_message_unknown_not_fatal(
    world: World, settings: Settings
) -> None:
    doc = payload("event-delivery.json")
    doc["delivery"]["recipients"] = ["x" * 400 + "@example.org"]
    (event,) = parse_message(json.dumps(doc), "sqs", "m2")
    assert event.kind == Kind.UNKNOWN and "delivery.recipients[0]" in event.detail
    assert ingest(world.db, settings, [event]).new == 1


def test_deeply_nested_queue_message_is_kept_as_unknown() -> None:
    (event,) = parse_message("[" * 100_000, "sqs", "sqs-id-1")
    assert event.kind == Kind.UNKNOWN and "not JSON" in event.detail
