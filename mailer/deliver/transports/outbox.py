"""The outbox transport: one ``.eml`` file per message in a folder.

The embedded default: a send can be watched and checked with no account
anywhere. Each file is written under a temporary name and renamed into place,
so a reader (or a crash) never sees half a message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from secrets import token_hex

from mailer.deliver.transports.base import OutgoingMessage, SendResult

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


class OutboxTransport:
    """Writes ``<dir>/send-<id>/<recipient>-<random>.eml`` (``single/`` outside sends)."""

    name = "outbox"
    parallel = False

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._made: set[Path] = set()

    def send(self, message: OutgoingMessage) -> SendResult:
        send_id = message.tags.get("send_id")
        folder = self.directory / (f"send-{send_id}" if send_id else "single")
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        name = f"{_UNSAFE.sub('_', message.recipient)[:100]}-{token_hex(6)}.eml"
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(message.data)
        os.replace(tmp, folder / name)
        return SendResult(provider_message_id=f"{folder.name}/{name}")

    def close(self) -> None:
        pass
