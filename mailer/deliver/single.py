"""One message to one address, outside any send: confirmations, test copies.

Uses the same MIME builder as sends, so a confirmation email and a newsletter
are encoded alike, and the configured transport delivers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr

from mailer.config import Settings
from mailer.deliver.mime import MessageTemplate, Personal, addr_spec, check_header
from mailer.deliver.transports import OutgoingMessage, SendResult, open_transport
from mailer.deliver.transports.base import Transport


def build_single(
    *,
    to: str,
    from_name: str,
    from_email: str,
    reply_to: str,
    subject: str,
    html: str,
    text: str,
    headers: Mapping[str, str] | None = None,
) -> OutgoingMessage:
    """Build the message ``send_single`` sends (``to`` is ``addr`` or ``Name <addr>``)."""
    check_header("To", to)
    name, address = parseaddr(to)
    address = address or to
    template = MessageTemplate(
        subject=subject,
        from_name=from_name,
        from_email=from_email,
        reply_to=reply_to,
        html_body=html,
        text_body=text,
        headers=headers,
    )
    data = template.render(Personal(email=address, name=name))
    return OutgoingMessage(
        sender=template.from_email, recipient=addr_spec("To", address), data=data
    )


def send_single(
    settings: Settings,
    *,
    to: str,
    from_name: str,
    from_email: str,
    reply_to: str,
    subject: str,
    html: str,
    text: str,
    headers: Mapping[str, str] | None = None,
    transport: Transport | None = None,
) -> SendResult:
    """Build one multipart/alternative message and deliver it now.

    Raises ``TemporaryFailure``/``PermanentFailure``/``SendingPaused`` from the
    transport, and ``UnsafeHeader`` when a header value holds a line break.
    ``transport`` defaults to ``open_transport(settings)``, opened and closed here.
    """
    message = build_single(
        to=to,
        from_name=from_name,
        from_email=from_email,
        reply_to=reply_to,
        subject=subject,
        html=html,
        text=text,
        headers=headers,
    )
    if transport is not None:
        return transport.send(message)
    own = open_transport(settings)
    try:
        return own.send(message)
    finally:
        own.close()
