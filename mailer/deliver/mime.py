"""MIME messages built once per send and personalised with cheap byte work.

Building an ``EmailMessage`` per recipient costs milliseconds. Instead a
:class:`MessageTemplate` encodes everything once: the static headers through
the standard library (so folding and RFC 2047 encoding are the library's), and
both bodies as quoted-printable, pre-split at the per-recipient placeholders.
Rendering a recipient then joins pre-encoded byte pieces with that recipient's
encoded values.

Why quoted-printable: QP encodes byte by byte, so pieces encoded separately
concatenate into a valid encoding of the concatenated text, as long as every
join is a soft line break (``=\\r\\n``), which decodes to nothing. That keeps
every encoded line under 77 characters whatever the values are.
"""

from __future__ import annotations

import base64
import email.policy
import html
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.quoprimime import body_encode
from email.utils import formatdate
from secrets import token_hex
from typing import Any

from mailer.compose import placeholders
from mailer.errors import MailerError

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
# Room for the soft break we add after a piece: encoded lines stay <= 76.
_QP_LINE = 75
_SAFE_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e ]*")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_ASCII_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_EMPTY_FIRST_LINE = re.compile(rb"^([A-Za-z0-9-]+):\r\n ", re.MULTILINE)


class UnsafeHeader(MailerError):
    """A header value holds a line break (it could inject headers) or is malformed."""


def check_header(name: str, value: str) -> str:
    """Return ``value`` if it is safe in header ``name``; refuse CR, LF and NUL."""
    if any(ch in value for ch in "\r\n\x00"):
        raise UnsafeHeader(f"{name} must be one line: {value[:60]!r} holds a line break")
    return value


def normalise_newlines(text: str) -> str:
    """Use ``\\n`` for every line break, as the parts will decode."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def qp_encode(text: str) -> bytes:
    """Quoted-printable encoding of UTF-8 ``text`` with CRLF hard breaks, lines <= 75."""
    if not text:
        return b""
    # quoprimime works on str whose code points are bytes.
    return body_encode(text.encode("utf-8").decode("latin-1"), _QP_LINE, "\r\n").encode("ascii")


def qp_value(value: str) -> bytes:
    """Encode one substituted value; plain ASCII (most values, URLs) passes as is.

    Plain values only need soft line breaks to keep lines short.
    """
    if _SAFE_VALUE.fullmatch(value):
        if len(value) <= _QP_LINE:
            return value.encode("ascii")
        step = _QP_LINE - 1
        return SOFT_BREAK.join(
            value[i : i + step].encode("ascii") for i in range(0, len(value), step)
        )
    return qp_encode(normalise_newlines(value))


def encode_display_name(name: str) -> str:
    """A display name for an address header: atom, quoted string or RFC 2047 words.

    Whitespace runs (line breaks included) collapse to one space, so a name can
    never start a new header line.
    """
    name = " ".join(name.split())
    if not name:
        return ""
    if _ATEXT.fullmatch(name):
        return name
    if _ASCII_PRINTABLE.fullmatch(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    words = []
    chunk = bytearray()
    for ch in name:
        raw = ch.encode("utf-8")
        # 45 bytes -> 60 base64 chars: each encoded word stays under 75 characters.
        if len(chunk) + len(raw) > 45:
            words.append(_b_word(bytes(chunk)))
            chunk.clear()
        chunk += raw
    words.append(_b_word(bytes(chunk)))
    return "\r\n ".join(words)


def _b_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def address_header(name: str, email: str) -> str:
    """``Name <email>`` for a To header; the address is checked, the name encoded."""
    check_header("address", email)
    if "<" in email or ">" in email or not email.isascii():
        raise UnsafeHeader(f"cannot put {email!r} in a header without SMTPUTF8")
    phrase = encode_display_name(name)
    return f"{phrase} <{email}>" if phrase else email


class _DateCache:
    """RFC 5322 dates, formatted at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True)
        return self._value


@dataclass(frozen=True)
class Personal:
    """One recipient's values for the placeholders and per-recipient headers."""

    email: str
    name: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    unsubscribe_url: str = ""
    preferences_url: str = ""
    message_id: str = ""


def attribute_text(value: Any) -> str:
    """How an attribute value reads in a message."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def placeholder_value(key: str, person: Personal) -> str:
    """The text for placeholder ``key`` (the name between the ``%%``)."""
    if key == "unsubscribe_url":
        return person.unsubscribe_url
    if key == "preferences_url":
        return person.preferences_url
    if key == "subscriber.name":
        return person.name
    if key == "subscriber.email":
        return person.email
    if key.startswith("subscriber.attributes."):
        return attribute_text(person.attributes.get(key[len("subscriber.attributes.") :]))
    raise KeyError(key)


def _known(key: str) -> bool:
    return key in (
        "unsubscribe_url",
        "preferences_url",
        "subscriber.name",
        "subscriber.email",
    ) or (key.startswith("subscriber.attributes.") and len(key) > len("subscriber.attributes."))


class _Body:
    """One body pre-split at its placeholders: encoded pieces and placeholder keys."""

    def __init__(self, text: str, where: str) -> None:
        self.pieces: list[bytes | str] = []  # bytes: static; str: placeholder key
        pos = 0
        for match in placeholders.PATTERN.finditer(text):
            key = match.group(1)
            if not _known(key):
                raise UnsafeHeader(f"{where}: unknown placeholder {match.group(0)}")
            if match.start() > pos:
                self.pieces.append(qp_encode(text[pos : match.start()]))
            self.pieces.append(key)
            pos = match.end()
        if pos < len(text):
            self.pieces.append(qp_encode(text[pos:]))
        self.keys = {p for p in self.pieces if isinstance(p, str)}

    def render(self, encoded: Mapping[str, bytes], out: list[bytes]) -> None:
        """Append this body to ``out``; ``encoded`` maps keys to QP-encoded values."""
        first = True
        for piece in self.pieces:
            if isinstance(piece, str):
                piece = encoded[piece]
                if not piece:
                    continue
            if not first:
                out.append(SOFT_BREAK)
            out.append(piece)
            first = False
        out.append(CRLF)


class MessageTemplate:
    """A multipart/alternative message (text first) encoded once, rendered per recipient."""

    def __init__(
        self,
        *,
        subject: str,
        from_name: str,
        from_email: str,
        reply_to: str = "",
        html_body: str,
        text_body: str,
        list_id: str = "",
        unsubscribe_mailto: str = "",
        headers: Mapping[str, str] | None = None,
        static: Mapping[str, str] | None = None,
    ) -> None:
        """``static`` maps placeholder keys (``web_url``) to values shared by all recipients."""
        for name, value in (
            ("Subject", subject),
            ("From name", from_name),
            ("From address", from_email),
            ("Reply-To", reply_to),
            ("List-Id", list_id),
            ("unsubscribe mailto", unsubscribe_mailto),
            *(headers or {}).items(),
        ):
            check_header(name, value)
        self.from_email = from_email
        self.domain = from_email.rpartition("@")[2] or "localhost"
        self.unsubscribe_mailto = unsubscribe_mailto
        head = EmailMessage(policy=email.policy.SMTP)
        head["Subject"] = subject
        try:
            head["From"] = Address(display_name=from_name, addr_spec=from_email)
        except (ValueError, IndexError) as exc:
            raise UnsafeHeader(f"From address {from_email!r} is not valid: {exc}") from exc
        if reply_to:
            head["Reply-To"] = reply_to
        if list_id:
            head["List-Id"] = list_id
        for name, value in (headers or {}).items():
            head[name] = value
        # The SMTP policy folds a long first word onto a line of its own
        # ("Subject:\r\n AI to…"), which parsers read with a leading space.
        self._head = _EMPTY_FIRST_LINE.sub(rb"\1: ", bytes(head).rstrip(b"\r\n")) + CRLF
        boundary = f"=_mailer_{token_hex(12)}"
        self._mid = (
            f"MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            f"\r\n--{boundary}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        self._between = (
            f"--{boundary}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        self._end = f"--{boundary}--\r\n".encode("ascii")
        shared = {key: value for key, value in (static or {}).items()}
        self._text = _Body(_fill(normalise_newlines(text_body), shared, False), "text")
        self._html = _Body(_fill(normalise_newlines(html_body), shared, True), "HTML")
        self._keys = self._text.keys | self._html.keys
        self._dates = _DateCache()

    def new_message_id(self, prefix: str = "") -> str:
        """A globally unique Message-ID in the sender's domain."""
        return f"<{prefix}{token_hex(10)}@{self.domain}>"

    def render(self, person: Personal) -> bytes:
        """The complete message for one recipient, CRLF line endings."""
        plain: dict[str, bytes] = {}
        escaped: dict[str, bytes] = {}
        for key in self._keys:
            value = placeholder_value(key, person)
            plain[key] = qp_value(value)
            safe = html.escape(value, quote=True)
            escaped[key] = plain[key] if safe == value else qp_value(safe)
        out = [self._head, b"To: ", address_header(person.name, person.email).encode("ascii")]
        out.append(b"\r\nDate: " + self._dates.now().encode("ascii"))
        message_id = person.message_id or self.new_message_id()
        out.append(b"\r\nMessage-ID: " + check_header("Message-ID", message_id).encode("ascii"))
        if person.unsubscribe_url:
            url = check_header("unsubscribe URL", person.unsubscribe_url)
            out.append(b"\r\nList-Unsubscribe: <" + url.encode("ascii") + b">")
            if self.unsubscribe_mailto:
                out.append(b",\r\n <mailto:" + self.unsubscribe_mailto.encode("ascii") + b">")
            out.append(b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click")
        out.append(CRLF)
        out.append(self._mid)
        self._text.render(plain, out)
        out.append(self._between)
        self._html.render(escaped, out)
        out.append(self._end)
        return b"".join(out)


def _fill(text: str, values: Mapping[str, str], escape: bool) -> str:
    for key, value in values.items():
        text = text.replace(f"%%{key}%%", html.escape(value, quote=True) if escape else value)
    return text


def mailto_unsubscribe(address: str) -> str:
    """The mailto: target of List-Unsubscribe (RFC 2369) for ``address``."""
    return f"{address}?subject=unsubscribe"
