"""send_single: one message through the configured transport."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from mailer.config import Settings
from mailer.deliver.single import send_single
from mailer.errors import UnsafeHeader
from tests.support.deliver import SmtpServer, use_smtp


def _send(settings: Settings, to: str = "Zoë Müller <zoe@example.org>", subject: str = "Confirm"):
    return send_single(
        settings,
        to=to,
        from_name="Example News",
        from_email="news@example.org",
        reply_to="editor@example.org",
        subject=subject,
        html="<p>Please confirm: <a href='https://x/confirm/t?a=1&amp;b=2'>yes</a></p>",
        text="Please confirm: https://x/confirm/t?a=1&b=2\n",
        headers={"X-Mailer-Kind": "confirm"},
    )


def test_single_to_outbox_is_a_parseable_multipart(settings: Settings) -> None:
    result = _send(settings)
    files = list(Path(settings.path(settings.delivery.outbox_dir)).rglob("*.eml"))
    assert len(files) == 1
    assert result.provider_message_id and files[0].name in result.provider_message_id
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].display_name == "Zoë Müller"
    assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    assert msg["Subject"] == "Confirm"
    assert msg["Reply-To"] == "editor@example.org"
    assert msg["X-Mailer-Kind"] == "confirm"
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert (
        parts[0].get_content().replace("\r\n", "\n")
        == "Please confirm: https://x/confirm/t?a=1&b=2\n"
    )
    assert "href='https://x/confirm/t?a=1&amp;b=2'" in parts[1].get_content()


def test_single_refuses_header_injection(settings: Settings) -> None:
    with pytest.raises(UnsafeHeader, match="Subject"):
        _send(settings, subject="Hello\r\nBcc: victim@example.org")
    with pytest.raises(UnsafeHeader):
        _send(settings, to="a@example.org\nBcc: victim@example.org")
    assert not list(Path(settings.path(settings.delivery.outbox_dir)).rglob("*.eml"))


def test_single_over_smtp(settings: Settings, smtp_server: SmtpServer) -> None:
    use_smtp(settings, smtp_server)
    _send(settings)
    [got] = smtp_server.handler.messages
    assert got.recipients == ["zoe@example.org"]
    assert got.sender == "news@example.org"
    msg = email.message_from_bytes(got.data, policy=email.policy.default)
    assert msg["Subject"] == "Confirm"
