"""The one small interface every transport implements.

The delivery engine hands a transport fully built message bytes and learns one
of three outcomes: accepted (maybe with the provider's message id), a temporary
failure (retry later), or a permanent failure (that recipient failed). A
``SendingPaused`` error means the provider refuses all sending (SES account
paused or suspended): the engine pauses the whole send instead of burning
through the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    """One message ready for the wire."""

    sender: str  # envelope sender (MAIL FROM / SES FromEmailAddress)
    recipient: str  # envelope recipient
    data: bytes  # the complete RFC 5322 message, CRLF line endings
    tags: dict[str, str] = field(default_factory=dict)  # provider tags (SES)


@dataclass(frozen=True)
class SendResult:
    """What a transport reports for an accepted message."""

    provider_message_id: str | None = None


class Transport(Protocol):
    """Delivers messages. Implementations must be safe to call from several threads.

    A transport may also offer ``refuse(recipients: int) -> str | None``: the
    worker asks it when a send starts and pauses the send, before anyone is
    mailed, with the reason it gives (SES: a daily quota too small for it).
    """

    name: str

    def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver one message or raise one of the failures above."""
        ...

    def close(self) -> None:
        """Release connections and other resources."""
        ...
