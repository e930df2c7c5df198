"""Fixtures for delivery tests: a real SMTP server recording every message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.support.deliver import RecordingHandler, SmtpServer
from tests.support.peers import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on a free port, recording every message."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        handler.let_go()  # a held session would keep the server from stopping
        controller.stop()
        asyncio.set_event_loop(None)
