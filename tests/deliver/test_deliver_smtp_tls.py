"""SMTP with STARTTLS and AUTH against a real aiosmtpd server using a test certificate."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives.asymmetric import ec

from mailer.config import Settings
from mailer.deliver.transports.base import OutgoingMessage
from mailer.deliver.transports.smtp import SmtpTransport
from mailer.errors import SendingPaused
from tests.support.certs import loopback_tls_files
from tests.support.deliver import RecordingHandler, SmtpServer
from tests.support.peers import free_port


def _certificate(folder: Path) -> tuple[Path, Path]:
    return loopback_tls_files(folder, ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    cert, key = _certificate(tmp_path)
    # The client verifies the server against the default trust store, which
    # SSL_CERT_FILE points at our test certificate here.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


def _transport(settings: Settings, server: SmtpServer, password: str) -> SmtpTransport:
    settings.smtp.host = server.host
    settings.smtp.port = server.port
    settings.smtp.security = "starttls"
    settings.smtp.username = "mailer"
    settings.smtp.password = password  # type: ignore[assignment]
    settings.smtp.timeout = 10
    return SmtpTransport(settings.smtp)


MESSAGE = OutgoingMessage("news@example.org", "reader@example.org", b"Subject: x\r\n\r\nhi\r\n")


def test_starttls_and_login(settings: Settings, tls_server: SmtpServer) -> None:
    transport = _transport(settings, tls_server, "s3cret")
    try:
        transport.send(MESSAGE)
    finally:
        transport.close()
    assert tls_server.handler.count_by_recipient() == {"reader@example.org": 1}


def test_refused_login_pauses_instead_of_failing_recipients(
    settings: Settings, tls_server: SmtpServer
) -> None:
    transport = _transport(settings, tls_server, "wrong")
    try:
        with pytest.raises(SendingPaused, match="refused the login for 'mailer'"):
            transport.send(MESSAGE)
    finally:
        transport.close()
    assert tls_server.handler.messages == []


def test_implicit_tls(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        settings.smtp.host, settings.smtp.port = "127.0.0.1", port
        settings.smtp.security = "ssl"
        transport = SmtpTransport(settings.smtp)
        transport.send(MESSAGE)
        transport.close()
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
    assert handler.count_by_recipient() == {"reader@example.org": 1}
