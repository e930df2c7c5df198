"""`mailer events simulate` writes payloads that the real ingest path accepts and matches."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sqlalchemy import update

from mailer import reports
from mailer.db.models import Recipient
from tests.support.events import World


def test_simulated_feedback_round_trip(world: World, mailer_cli, tmp_path: Path) -> None:
    out = tmp_path / "feedback.jsonl"
    made = mailer_cli("events", "simulate", str(world.send_id), "--out", str(out), "--seed", "3")
    assert made.exit_code == 0, made.output
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = Counter(d["eventType"] for d in docs)
    assert kinds["Send"] == 8
    ingested = mailer_cli("events", "ingest", str(out))
    assert ingested.exit_code == 0, ingested.output
    assert f"{len(docs)} new" in ingested.output and "0 orphans" in ingested.output
    r = reports.send_report(world.db, world.send_id)
    assert r.counts["delivered"] + r.counts["bounced"] == 8
    assert r.counts["delivered"] == kinds["Delivery"]
    assert r.counts["opens"] == kinds["Open"]


def test_simulated_feedback_matches_by_header_without_message_ids(
    world: World, mailer_cli, tmp_path: Path
) -> None:
    with world.db.session() as s:
        s.execute(update(Recipient).values(provider_message_id=None))
    out = tmp_path / "feedback.jsonl"
    assert mailer_cli("events", "simulate", str(world.send_id), "--out", str(out)).exit_code == 0
    ingested = mailer_cli("events", "ingest", str(out))
    assert "0 orphans" in ingested.output
    assert reports.send_report(world.db, world.send_id).counts["delivered"] >= 1


def test_simulate_unknown_send(world: World, mailer_cli, tmp_path: Path) -> None:
    result = mailer_cli("events", "simulate", "999", "--out", str(tmp_path / "x.jsonl"))
    assert result.exit_code == 1 and "Error: no send 999" in result.output
