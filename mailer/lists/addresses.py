"""Email address validation and normalisation.

email-validator decides what is a valid address. Imports validate a million
addresses, so the common plain-ASCII shape is recognised first by a strict
regular expression that accepts only addresses email-validator also accepts,
normalised the same way (trimmed, domain lower-cased); everything else goes
through email-validator itself. ``tests/lists/test_lists_addresses.py`` checks the
fast path against the library.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from mailer.errors import InvalidEmail


def email_hash(email: str) -> str:
    """The sha256 of the trimmed, lower-cased address: a person's identity, the suppression key."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


# Dot-atom local part of "safe" characters and a dotted domain of LDH labels
# with an alphabetic top-level label: a strict subset of what RFC 5321 and
# email-validator allow.
_FAST = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"
)
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


def _fast(candidate: str) -> str | None:
    at = candidate.rfind("@")
    if at < 1 or at > _MAX_LOCAL or len(candidate) > _MAX_ADDRESS:
        return None
    address = candidate[: at + 1] + candidate[at + 1 :].lower()
    match = _FAST.fullmatch(address)
    if match is None:
        return None
    domain = match.group(1)
    # Reserved names, and labels with "--" (punycode, and the reserved
    # "ab--" form): let the library decide. The pattern guarantees a dot and
    # the special-use names are single labels, so the last label is the only
    # one to check.
    if "--" in domain or domain[domain.rfind(".") + 1 :] in _SPECIAL:
        return None
    # RFC 2142 role mailboxes (postmaster, www, abuse…): the library lower-cases
    # their local part, so the fast path must not keep its case.
    if address[:at].lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        return None
    return address


def normalise_email(raw: str, *, check_deliverability: bool = False) -> str:
    """Return the normalised form of ``raw`` or raise ``InvalidEmail`` saying why.

    Normalised means trimmed, with the domain lower-cased (and Unicode in NFC);
    the local part keeps its case, as RFC 5321 requires.
    """
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("the email address is empty")
    if not check_deliverability:
        fast = _fast(candidate)
        if fast is not None:
            return fast
    try:
        result = validate_email(candidate, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{candidate!r} is not a valid email address: {exc}") from exc
    # RFC 5321 section 4.5.3.1.1; email-validator leaves this limit to the caller.
    local = len(str(result.local_part).encode("utf-8"))
    if local > _MAX_LOCAL:
        raise InvalidEmail(
            f"{candidate!r} is not a valid email address: the part before the @-sign is "
            f"{local} bytes long, more than {_MAX_LOCAL}"
        )
    return str(result.normalized)


def needs_smtputf8(address: str) -> bool:
    """Whether ``address`` can only be delivered with SMTPUTF8 (a non-ASCII local part).

    A non-ASCII domain does not count: it is sent in its A-label form.
    """
    return not address[: address.rfind("@")].isascii()


@lru_cache(maxsize=4096)
def _a_label(domain: str) -> str:
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"the domain {domain!r} is not valid: {exc}") from exc
    return str(result.ascii_domain)


def ascii_address(address: str) -> str:
    """``address`` with its domain in A-label (punycode) form, as SMTP and headers need.

    Raises ``InvalidEmail`` when the local part is not ASCII: only a server
    speaking SMTPUTF8 could take such an address, and mailer does not use it.
    """
    if address.isascii():
        return address
    at = address.rfind("@")
    if at < 1:
        raise InvalidEmail(f"{address!r} is not a valid email address")
    if needs_smtputf8(address):
        raise InvalidEmail(
            f"{address!r} has a non-ASCII local part: only SMTPUTF8 could deliver it"
        )
    return f"{address[:at]}@{_a_label(address[at + 1 :])}"
