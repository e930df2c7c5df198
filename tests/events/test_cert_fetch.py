"""The certificate fetch over real HTTPS, from a local server with its own test CA."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.config import Settings
from mailer.errors import Refused
from mailer.events import sns
from mailer.events.webhook import handle_sns_webhook
from tests.support.certs import loopback_tls_files
from tests.support.events import CERT_PEM, TOPIC, World, headers_for, notification, payload


def _tls_files(folder: Path) -> tuple[Path, Path]:
    return loopback_tls_files(
        folder, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Handler.hits.append(self.path)
        if self.path == "/SimpleNotificationService-good.pem":
            self._send(200, CERT_PEM)
        elif self.path == "/SimpleNotificationService-moved.pem":
            self.send_response(302)
            self.send_header("Location", "https://example.org/SimpleNotificationService-x.pem")
            self.end_headers()
        elif self.path == "/SimpleNotificationService-huge.pem":
            self._send(200, b"A" * 100_000)
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    cert, key = _tls_files(tmp_path_factory.mktemp("tls"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def certs(https_server: tuple[str, Path]) -> sns.CertificateCache:
    _base, ca = https_server
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=5.0)
    return sns.CertificateCache(sns.httpx_fetcher(client))


def _post(
    world: World, settings: Settings, certs: sns.CertificateCache, url: str
) -> tuple[int, str]:
    settings.events.topic_arns = [TOPIC]
    settings.events.cert_url_pattern = r"^localhost:\d+$"
    doc = notification(payload("event-delivery.json"), cert_url=url)
    return handle_sns_webhook(
        world.db, settings, headers_for(doc), json.dumps(doc).encode(), certs=certs
    )


def test_certificate_is_fetched_over_https_and_cached(
    world: World, settings: Settings, certs: sns.CertificateCache, https_server: tuple[str, Path]
) -> None:
    base, _ = https_server
    Handler.hits.clear()
    url = f"{base}/SimpleNotificationService-good.pem"
    status, message = _post(world, settings, certs, url)
    assert status == 200, message
    assert world.recipient("dave").delivered_at is not None
    assert _post(world, settings, certs, url)[0] == 200
    assert Handler.hits == ["/SimpleNotificationService-good.pem"]  # cached after the first


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("moved", "HTTP 302"),  # redirects are not followed
        ("huge", "too large"),
        ("missing", "HTTP 404"),
    ],
)
def test_bad_certificate_responses_are_refused(
    world: World, settings: Settings, certs, https_server: tuple[str, Path], path: str, why: str
) -> None:
    base, _ = https_server
    snap = world.snapshot()
    status, message = _post(world, settings, certs, f"{base}/SimpleNotificationService-{path}.pem")
    assert status == 403 and why in message
    assert world.snapshot() == snap


def test_untrusted_tls_certificate_is_refused(
    world: World, settings: Settings, https_server: tuple[str, Path]
) -> None:
    base, _ = https_server
    snap = world.snapshot()
    status, message = _post(
        world, settings, sns.CertificateCache(), f"{base}/SimpleNotificationService-good.pem"
    )
    assert status == 403 and "could not be fetched" in message
    assert world.snapshot() == snap


def test_default_pattern_refuses_the_local_host(https_server: tuple[str, Path]) -> None:
    base, _ = https_server
    with pytest.raises(Refused, match="not an Amazon SNS host"):
        sns.check_url(
            f"{base}/SimpleNotificationService-good.pem",
            Settings().events.cert_url_pattern,
            cert=True,
        )
