"""The SMTP transport: a pool of persistent smtplib connections.

Each thread borrows one connection per message. A connection that dropped
before the message was handed over is reopened and the message tried again;
one that drops during DATA leaves the outcome unknown, which the engine
records as ``uncertain`` rather than risk a duplicate.
"""

from __future__ import annotations

import contextlib
import queue
import smtplib
import ssl

from mailer.config import SmtpSettings
from mailer.deliver.transports.base import OutgoingMessage, SendResult
from mailer.errors import PermanentFailure, SendingPaused, TemporaryFailure, UncertainDelivery


class _Dropped(Exception):
    """The connection is gone before DATA: nothing was delivered, try a new one."""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _reply_error(stage: str, code: int, reply: bytes | str) -> Exception:
    text = _text(reply)
    detail = f"{code} {' '.join(text.split())}".strip()
    if code == 421:
        return _Dropped(detail)
    if 400 <= code < 500:
        return TemporaryFailure(f"SMTP {stage}: {detail}")
    return PermanentFailure(f"SMTP {stage}: {detail}")


class SmtpTransport:
    """Sends through ``smtp.connections`` persistent connections shared by all threads."""

    name = "smtp"
    parallel = True

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.connections = settings.connections
        self._pool: queue.LifoQueue[smtplib.SMTP | None] = queue.LifoQueue()
        for _ in range(self.connections):
            self._pool.put(None)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            conn: smtplib.SMTP
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password.get_secret_value())
        except smtplib.SMTPAuthenticationError as exc:
            raise SendingPaused(
                f"the SMTP server {s.host}:{s.port} refused the login for {s.username!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(
                f"cannot connect to SMTP server {s.host}:{s.port}: {exc}"
            ) from exc
        return conn

    def send(self, message: OutgoingMessage) -> SendResult:
        conn = self._pool.get()
        try:
            for attempt in range(2):
                if conn is None:
                    conn = self._connect()
                try:
                    self._transact(conn, message)
                    return SendResult()
                except _Dropped as exc:
                    _close(conn)
                    conn = None
                    if attempt == 1:
                        raise TemporaryFailure(f"SMTP connection dropped: {exc}") from exc
                except UncertainDelivery:
                    _close(conn)
                    conn = None
                    raise
            raise AssertionError("unreachable")
        finally:
            self._pool.put(conn)

    def _transact(self, conn: smtplib.SMTP, message: OutgoingMessage) -> None:
        try:
            code, reply = conn.mail(message.sender)
            if code != 250:
                _rset(conn)
                raise _reply_error("MAIL FROM", code, reply)
            code, reply = conn.rcpt(message.recipient)
            if code not in (250, 251):
                _rset(conn)
                raise _reply_error("RCPT TO", code, reply)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(str(exc) or type(exc).__name__) from exc
        try:
            code, reply = conn.data(message.data)
        except smtplib.SMTPDataError as exc:
            _rset(conn)
            raise _reply_error("DATA", exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise UncertainDelivery(
                f"SMTP connection lost during DATA, the message may have gone out: {exc}"
            ) from exc
        if code != 250:
            raise _reply_error("DATA", code, reply)

    def close(self) -> None:
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                return
            if conn is not None:
                try:
                    conn.quit()
                except (OSError, smtplib.SMTPException):
                    _close(conn)


def _rset(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        conn.rset()


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(OSError):
        conn.close()
