"""Amazon SNS messages: field checks, URL checks and signature verification.

A message is trusted only when its RSA signature verifies against the
certificate at ``SigningCertURL``, and that URL is checked *before* anything
is fetched: https, a host matching ``events.cert_url_pattern`` (by default
``sns.<region>.amazonaws.com(.cn)`` where the region has region syntax, such
as ``eu-west-1``), no user info, query or fragment, and the
``/SimpleNotificationService-….pem`` path SNS uses. django-ses accepted any
``*.amazonaws.com`` host (CVE-2023-33185), so anyone could host a certificate
in an S3 bucket and sign forged bounces; a looser ``sns.[a-z0-9-]+`` still let
``sns.s3.amazonaws.com`` (an S3 bucket named "sns") through.

The string to sign is built as AWS documents it: for a Notification the
fields Message, MessageId, Subject (only if present), Timestamp, TopicArn,
Type; for (Un)SubscriptionConfirmation Message, MessageId, SubscribeURL,
Timestamp, Token, TopicArn, Type; each as ``name\\nvalue\\n``.
SignatureVersion 1 signs with SHA1, version 2 with SHA256.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailer.clock import utcnow
from mailer.errors import Refused

NOTIFICATION = "Notification"
SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
REQUIRED = {
    NOTIFICATION: ("Type", "MessageId", "TopicArn", "Message", "Timestamp"),
    SUBSCRIBE: ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "Token", "SubscribeURL"),
    UNSUBSCRIBE: ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "Token", "SubscribeURL"),
}
COMMON_REQUIRED = ("SignatureVersion", "Signature", "SigningCertURL")
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
CERT_PATH = re.compile(r"^/SimpleNotificationService(-[A-Za-z0-9]+)?\.pem$")
MAX_CERT_BYTES = 16_384


@dataclass(frozen=True)
class SnsMessage:
    """A structurally valid SNS message (not yet verified)."""

    fields: dict[str, str]

    @property
    def type(self) -> str:
        return self.fields["Type"]

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


def parse_message(data: Any) -> SnsMessage:
    """Check the SNS fields are present and strings; raise ``Refused`` (400) otherwise."""
    if not isinstance(data, dict):
        raise Refused("body is not a JSON object", 400)
    kind = data.get("Type")
    if not isinstance(kind, str) or kind not in REQUIRED:
        raise Refused(f"unknown SNS message Type {kind!r}", 400)
    for name in REQUIRED[kind] + COMMON_REQUIRED:
        value = data.get(name)
        if not isinstance(value, str) or (not value and name != "Message"):
            raise Refused(f"SNS field {name} is missing or not a string", 400)
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    if "Subject" in data and not isinstance(data["Subject"], str):
        raise Refused("SNS field Subject is not a string", 400)
    return SnsMessage(fields)


def string_to_sign(msg: SnsMessage) -> bytes:
    """The exact bytes SNS signed for this message."""
    names = NOTIFICATION_FIELDS if msg.type == NOTIFICATION else CONFIRMATION_FIELDS
    parts = []
    for name in names:
        value = msg.get(name)
        if value is None:
            continue  # only Subject is optional: required ones were checked
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f%@]")


def check_url(url: str, host_pattern: str, *, cert: bool) -> str:
    """Return ``url`` if it is an SNS URL we may fetch; raise ``Refused`` (403) if not.

    ``cert=True`` checks a SigningCertURL (the .pem path, no query); otherwise a
    SubscribeURL (path ``/`` with its query). Percent-escapes and ``@`` are
    refused outright: nothing legitimate needs them in the host or cert path,
    and they are how parsers are made to disagree.
    """
    if not isinstance(url, str) or len(url) > 2048:
        raise Refused("URL is missing or too long", 403)
    head, _, query = url.partition("?")
    if _UNSAFE.search(head) or "#" in url:
        raise Refused(f"URL has characters not allowed in an SNS URL: {url!r}", 403)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"malformed URL {url!r}", 403) from exc
    if parts.scheme != "https":
        raise Refused(f"URL must be https: {url!r}", 403)
    host = parts.hostname or ""
    netloc = parts.netloc.lower()
    if not host or netloc != (f"{host}:{port}" if port is not None else host):
        raise Refused(f"URL host is malformed: {url!r}", 403)
    if not re.fullmatch(host_pattern, netloc):
        raise Refused(f"URL host {netloc!r} is not an Amazon SNS host", 403)
    # httpx must reach the very host we checked.
    if httpx.URL(url).host != host:
        raise Refused(f"URL host is ambiguous: {url!r}", 403)
    if cert:
        if query or not CERT_PATH.fullmatch(parts.path):
            raise Refused(f"SigningCertURL is not an SNS certificate path: {url!r}", 403)
    elif parts.path not in ("", "/") or "Action=ConfirmSubscription" not in query:
        raise Refused(f"SubscribeURL is not an SNS confirmation URL: {url!r}", 403)
    return url


Fetcher = Callable[[str], bytes]


def httpx_fetcher(client: httpx.Client | None = None) -> Fetcher:
    """Fetch a URL with httpx: no redirects, short timeout, bounded size."""

    def fetch(url: str) -> bytes:
        c = client or httpx.Client(timeout=5.0, follow_redirects=False)
        try:
            with c.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise Refused(f"certificate fetch returned HTTP {resp.status_code}", 403)
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CERT_BYTES:
                        raise Refused("certificate is too large", 403)
                return body
        except httpx.HTTPError as exc:
            raise Refused(f"certificate could not be fetched: {exc}", 403) from exc
        finally:
            if client is None:
                c.close()

    return fetch


class CertificateCache:
    """Signing certificates by URL, fetched once (SNS rotates them rarely)."""

    def __init__(self, fetcher: Fetcher | None = None, size: int = 32) -> None:
        self.fetcher = fetcher or httpx_fetcher()
        self.size = size
        self._keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches = 0

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            if url in self._keys:
                self._keys.move_to_end(url)
                return self._keys[url]
        self.fetches += 1
        pem = self.fetcher(url)
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise Refused("SigningCertURL does not hold a PEM certificate", 403) from exc
        now = utcnow()
        if not (
            cert.not_valid_before_utc.replace(tzinfo=None)
            <= now
            <= cert.not_valid_after_utc.replace(tzinfo=None)
        ):
            raise Refused("signing certificate is expired or not yet valid", 403)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Refused("signing certificate does not hold an RSA key", 403)
        with self._lock:
            self._keys[url] = key
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return key


_default_cache = CertificateCache()


def default_cache() -> CertificateCache:
    """The process-wide certificate cache the webhook uses."""
    return _default_cache


def verify(msg: SnsMessage, host_pattern: str, certs: CertificateCache) -> None:
    """Raise ``Refused`` unless ``msg`` carries a valid SNS signature."""
    algorithm = HASHES.get(msg["SignatureVersion"])
    if algorithm is None:
        raise Refused(f"unsupported SignatureVersion {msg['SignatureVersion']!r}", 403)
    url = check_url(msg["SigningCertURL"], host_pattern, cert=True)
    try:
        signature = base64.b64decode(msg["Signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused("Signature is not base64", 403) from exc
    key = certs.public_key(url)
    try:
        key.verify(signature, string_to_sign(msg), padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise Refused("SNS signature does not verify", 403) from exc


def check_age(msg: SnsMessage, max_age_seconds: int, now: datetime | None = None) -> None:
    """Refuse a message whose ``Timestamp`` is older than ``max_age_seconds`` (0: no limit).

    A signed message stays validly signed forever; the age limit is what
    keeps a captured one from being replayed later.
    """
    try:
        stamp = datetime.fromisoformat(msg["Timestamp"])
    except ValueError as exc:
        raise Refused(f"SNS Timestamp {msg['Timestamp'][:40]!r} is not a timestamp", 400) from exc
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    if not max_age_seconds:
        return
    age = ((now or utcnow()) - stamp).total_seconds()
    if age > max_age_seconds:
        raise Refused(
            f"SNS message of {msg['Timestamp']} is {age:.0f} s old, more than "
            f"events.max_message_age_seconds ({max_age_seconds}): refused as a possible replay",
            403,
        )


def confirm_subscription(url: str, host_pattern: str, get: Fetcher | None = None) -> None:
    """Visit a checked SubscribeURL, which confirms the subscription with SNS."""
    check_url(url, host_pattern, cert=False)
    (get or httpx_fetcher())(url)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for any mapping."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None
