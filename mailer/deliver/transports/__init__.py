"""Transports: where finished messages go. ``open_transport`` picks the configured one."""

from __future__ import annotations

from mailer.config import Settings
from mailer.deliver.transports.base import OutgoingMessage, SendResult, Transport

__all__ = [
    "OutgoingMessage",
    "SendResult",
    "Transport",
    "open_transport",
]


def open_transport(settings: Settings) -> Transport:
    """The transport named by ``delivery.transport``, ready to send."""
    kind = settings.delivery.transport
    if kind == "outbox":
        from mailer.deliver.transports.outbox import OutboxTransport

        return OutboxTransport(settings.path(settings.delivery.outbox_dir))
    if kind == "smtp":
        from mailer.deliver.transports.smtp import SmtpTransport

        return SmtpTransport(settings.smtp)
    if kind == "ses":
        from mailer.deliver.transports.ses import SesTransport

        return SesTransport(settings)
    from mailer.deliver.transports.null import NullTransport

    return NullTransport()
