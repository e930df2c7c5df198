"""Ops guardrails in the web app: the breaker's reason and confirmed override, the Health page."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.guardrails import SendFeedback
from mailer.db.models import Send
from mailer.deliver.guardrails import Thresholds, verdict
from mailer.status import SendStatus
from tests.support.peers import free_port
from tests.support.web import admin_csrf, schedule_sample


def test_a_tripped_send_shows_why_and_resumes_only_through_the_confirmed_button(
    editor: TestClient, app_db: Database
) -> None:
    send_id = schedule_sample(editor)
    reason = verdict(SendFeedback(400, 40, 0, None), Thresholds())
    with app_db.session() as session:
        store.set_status(session, send_id, SendStatus.PAUSED, reason=reason)
    page = editor.get(f"/admin/sends/{send_id}").text
    assert "hard-bounce rate 10.0% (40 of 400 messages with feedback)" in page
    button = re.search(r'<form[^>]*/resume"[^>]*>.*?</form>', page, re.S)
    assert button is not None
    assert 'name="override" value="1"' in button.group(0)
    assert "data-confirm=" in button.group(0) and "Resume past the breaker" in button.group(0)
    token = admin_csrf(editor, f"/admin/sends/{send_id}")
    # A plain resume (no override field) is refused, and says why.
    refused = editor.post(f"/admin/sends/{send_id}/resume", data={"csrf_token": token})
    page = editor.get(refused.headers["location"]).text
    flash = re.search(r'class="flash flash-error"[^>]*>(.*?)</p>', page, re.S)
    assert flash is not None, page
    # Worded for the page (its button), not the command line.
    assert "was paused by its circuit breaker" in flash.group(1)
    assert "Resume past the breaker" in flash.group(1) and "--override" not in flash.group(1)
    ok = editor.post(f"/admin/sends/{send_id}/resume", data={"csrf_token": token, "override": "1"})
    assert f"Send #{send_id} resumed (scheduled)." in editor.get(ok.headers["location"]).text
    with app_db.session() as session:
        send = session.get(Send, send_id)
        assert send is not None and send.breaker_overridden_at is not None


def test_health_page_shows_each_check_and_never_passes_what_it_could_not_check(
    editor: TestClient, settings: Settings
) -> None:
    # A resolver that does not answer: DNS checks must read "could not check".
    settings.guardrails.dns_nameservers = [f"127.0.0.1:{free_port()}"]
    settings.guardrails.dns_timeout = 0.3
    page = editor.get("/admin/health")
    assert page.status_code == 200
    rows = re.findall(
        r'<tr data-status="(\w+)">\s*<td[^>]*>([^<]*)</td>\s*<td><strong>([^<]*)', page.text
    )
    found = {(area, item): status for status, area, item in rows}
    assert found[("config", "delivery.transport")] == "fail"  # outbox delivers to no one
    assert found[("config", "site.base_url")] == "pass"
    assert found[("domain example.org", "DMARC")] == "unknown"
    assert "could not check" in page.text and "that is not a pass" in page.text
    assert 'href="/admin/health" aria-current="page"' in page.text


def test_send_page_shows_clicks_per_story_beside_the_chart(
    editor: TestClient, app_db: Database
) -> None:
    from tests.support.engagement import STORY_2, engaged_send

    story = engaged_send(app_db)
    page = editor.get(f"/admin/sends/{story.send_id}").text
    section = page.split('id="engagement"', 1)[1].split("</section>", 1)[0]
    cells = re.findall(
        r'<tr data-story="(\d)"><td><strong>[^<]*</strong></td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td>',
        section,
    )
    assert cells == [("1", "1", "1"), ("2", "1", "2")]
    assert "Chips, again" in section and STORY_2 in section
    assert "Opens: 2 people, 1 machines" in section
