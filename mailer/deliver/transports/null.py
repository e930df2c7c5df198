"""The null transport: accepts everything, delivers nothing (benchmarks, dry runs)."""

from __future__ import annotations

import threading

from mailer.deliver.transports.base import OutgoingMessage, SendResult


class NullTransport:
    """Counts messages and bytes so a benchmark measures mailer's own cost alone."""

    name = "null"
    parallel = False

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        with self._lock:
            self.messages += 1
            self.bytes += len(message.data)
        return SendResult()

    def close(self) -> None:
        pass
