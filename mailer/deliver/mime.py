"""MIME messages built once per send and personalised with cheap byte work.

Building an ``EmailMessage`` per recipient costs milliseconds. Instead a
:class:`MessageTemplate` encodes everything once: the static headers with
mailer's own encoder (plain folded ASCII or RFC 2047 encoded words; never the
standard library's refolding, which can be tricked into writing header lines),
and both bodies as quoted-printable, pre-split at the per-recipient placeholders.
Rendering a recipient then joins pre-encoded byte pieces with that recipient's
encoded values.

Why quoted-printable: QP encodes byte by byte, so pieces encoded separately
concatenate into a valid encoding of the concatenated text, as long as every
join is a soft line break (``=\\r\\n``), which decodes to nothing. That keeps
every encoded line under 77 characters whatever the values are.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.quoprimime import body_encode
from email.utils import formatdate
from secrets import token_hex
from typing import Any

from mailer.compose import placeholders
from mailer.errors import InvalidEmail, UnsafeHeader
from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem
from mailer.lists.addresses import ascii_address

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
# Room for the soft break we add after a piece: encoded lines stay <= 76.
_QP_LINE = 75
_SAFE_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e ]*")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_ASCII_PRINTABLE = re.compile(r"[\x20-\x7e]*")
# Printable ASCII words separated by single spaces: sent as written (folded).
_PLAIN_TEXT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
# Single-spaced atoms: a display name that goes out exactly as written.
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# A dot-atom address with an ASCII domain: nothing to check or convert.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
FOLD = "\r\n "
# RFC 5322: lines SHOULD stay within 78 characters and MUST within 998.
_FOLD_AT = 78
MAX_LINE = 998
# Longer names go out as encoded words, which fold cleanly.
_SHORT_NAME = 60


def check_header(name: str, value: str) -> str:
    """Return ``value`` if it is safe in header ``name``: one line, no control characters."""
    problem = one_line_problem(value)
    if problem is not None:
        raise UnsafeHeader(f"{name} {problem}: {value[:60]!r}")
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


def _b_words(text: str) -> str:
    """``text`` as RFC 2047 B encoded words, one per folded line.

    42 UTF-8 bytes make 56 base64 characters: a 68-character word, so even
    ``Reply-To: `` plus a word stays within 78. A character is never split
    between two words (RFC 2047 section 5).
    """
    data = text.encode("utf-8")
    words = []
    start = 0
    # Cut every 42 bytes, moved back off UTF-8 continuation bytes (0b10xxxxxx)
    # so that the cut falls between characters: byte work, not a loop per
    # character (a non-ASCII display name takes this path for every recipient).
    while len(data) - start > 42:
        end = start + 42
        while data[end] & 0xC0 == 0x80:
            end -= 1
        words.append(_b_word(data[start:end]))
        start = end
    words.append(_b_word(data[start:]))
    return FOLD.join(words)


def _b_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def encode_text(header: str, text: str) -> str:
    """An unstructured header value (Subject): plain folded ASCII, or RFC 2047 words.

    Text is carried literally whatever it holds: anything that is not plain
    printable ASCII in single-spaced words, and anything holding ``=?`` (which
    a reader could take for an encoded word), is sent base64-encoded, so no
    parser or refolding relay can turn part of it into syntax.
    """
    check_header(header, text)
    if not text:
        return ""
    if "=?" not in text and _PLAIN_TEXT.fullmatch(text):
        folded = _fold(text.split(" "), len(header) + 2)
        if folded is not None:
            return folded
    return _b_words(text)


def _fold(words: list[str], used: int) -> str | None:
    """Join ``words`` with spaces, folding so that lines stay within 78 characters.

    None when a word is too long for that (it then goes out as encoded words,
    which can be split anywhere).
    """
    lines: list[str] = []
    line = ""
    for word in words:
        if line and used + len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
        if used + len(line) > _FOLD_AT:
            return None
    lines.append(line)
    return FOLD.join(lines)


def encode_display_name(name: str) -> str:
    """A display name for an address header: atom, quoted string or RFC 2047 words.

    Whitespace runs (line breaks included) collapse to one space, so a name can
    never start a new header line; the name is cut at ``MAX_DISPLAY_NAME``
    characters. Long names, and any holding ``=?``, become encoded words, one
    per folded line.
    """
    if len(name) <= _SHORT_NAME and "=?" not in name and _SIMPLE_NAME.fullmatch(name):
        return name  # the common case, kept cheap: it runs once per recipient
    # Control characters carry nothing a reader needs in a name: dropped.
    name = " ".join(_CONTROL.sub("", " ".join(name.split())).split())[:MAX_DISPLAY_NAME].strip()
    if not name:
        return ""
    if "=?" not in name and len(name) <= _SHORT_NAME:
        if _ATEXT.fullmatch(name):
            return name
        if _ASCII_PRINTABLE.fullmatch(name):
            return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _b_words(name)


def addr_spec(what: str, email: str) -> str:
    """``email`` as it goes on the wire: checked, with its domain in A-label (punycode) form.

    An address whose local part is not ASCII can only be delivered with
    SMTPUTF8, which mailer does not use: it is refused here (and flagged when
    it is imported).
    """
    if _PLAIN_ADDRESS.fullmatch(email):
        return email  # the common case, kept cheap: it runs once per recipient
    check_header(what, email)
    if "<" in email or ">" in email or any(ch.isspace() for ch in email) or "@" not in email:
        raise UnsafeHeader(f"{what} {email!r} is not a plain email address")
    try:
        return ascii_address(email)
    except InvalidEmail as exc:
        raise UnsafeHeader(f"cannot put {email!r} in a header: {exc.message}") from exc


def address_header(name: str, email: str, header: str = "To") -> str:
    """``Name <email>`` for an address header; the address is checked, the name encoded.

    The address moves to a line of its own when the name's last line leaves
    no room for it within 78 characters.
    """
    address = addr_spec(header, email)
    phrase = encode_display_name(name)
    if not phrase:
        return address
    last = phrase.rpartition(FOLD)[2]
    used = 1 if FOLD in phrase else len(header) + 2
    gap = FOLD if used + len(last) + len(address) + 3 > _FOLD_AT else " "
    return f"{phrase}{gap}<{address}>"


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
            ("List-Id", list_id),
            ("unsubscribe mailto", unsubscribe_mailto),
            *(headers or {}).items(),
        ):
            check_header(name, value)
        self.from_email = addr_spec("From address", from_email)
        self.domain = self.from_email.rpartition("@")[2] or "localhost"
        target, mark, query = unsubscribe_mailto.partition("?")
        if not query.isascii() or any(ch.isspace() for ch in query):
            raise UnsafeHeader(f"unsubscribe mailto query must be ASCII: {query[:60]!r}")
        self.unsubscribe_mailto = (
            addr_spec("unsubscribe mailto", target) + mark + query if unsubscribe_mailto else ""
        )
        check_header("From name", from_name)
        # Every header is written here, not by the standard library: its
        # refolding on Python 3.11/3.12 can turn an encoded-word look-alike in a
        # subject into real header lines. Values go out as plain folded ASCII or
        # as encoded words (see ``encode_text`` and ``encode_display_name``).
        lines = [
            f"Subject: {encode_text('Subject', subject)}",
            f"From: {address_header(from_name, from_email, 'From')}",
        ]
        if reply_to:
            lines.append(f"Reply-To: {address_header('', reply_to, 'Reply-To')}")
        if list_id:
            if not _ASCII_PRINTABLE.fullmatch(list_id) or len(list_id) > MAX_LINE - 9:
                raise UnsafeHeader(f"List-Id must be a line of printable ASCII: {list_id[:60]!r}")
            lines.append(f"List-Id: {list_id}")
        for name, value in (headers or {}).items():
            if not _HEADER_NAME.fullmatch(name):
                raise UnsafeHeader(f"{name!r} is not a header name")
            lines.append(f"{name}: {encode_text(name, value)}")
        self._head = ("\r\n".join(lines) + "\r\n").encode("ascii")
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
