"""SPF, DKIM and DMARC of each list's from domain, and whether they align.

Gmail and Yahoo (since February 2024) and Outlook.com (since May 2025) want
bulk mail to pass SPF and DKIM and to carry a DMARC record whose check passes
through an *aligned* identifier: the SPF-checked envelope (MAIL FROM) domain
or the DKIM signing domain must match the From domain (relaxed alignment:
the same organisational domain, approximated here as the last two labels;
``aspf=s``/``adkim=s`` ask for an exact match).

The sending path decides which records matter. Through SES the envelope
domain is SES's own unless the identity has a custom MAIL FROM domain, so
SPF aligns only with one (whose SPF must include amazonses.com); DKIM is
SES's Easy DKIM on the domain identity (``GetEmailIdentity``). Through SMTP
the envelope is the list's from address, so the from domain's SPF must cover
the SMTP host, and DKIM is the ``guardrails.dkim_selector`` record.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from mailer.config import Settings
from mailer.doctor.diagnosis import FAIL, PASS, UNKNOWN, WARN, Diagnosis
from mailer.doctor.dns import CouldNotCheck, Resolver

SES_SPF_INCLUDE = "amazonses.com"
MAX_SPF_DEPTH = 10  # RFC 7208 section 4.6.4 allows ten DNS-querying terms


@dataclass
class Path:
    """How mail from one domain leaves: the envelope domain and the DKIM signing domain."""

    mail_from: str | None  # SPF-checked domain; None: the provider's own (never aligned)
    spf_covers: str  # what SPF at mail_from must allow: "include:amazonses.com" or a host
    dkim: str  # PASS / FAIL / UNKNOWN / WARN, already checked
    dkim_domain: str | None  # d= of the signature when it passes


def org(domain: str) -> str:
    """The organisational domain, approximated by the last two labels."""
    return ".".join(domain.lower().rstrip(".").split(".")[-2:])


def aligned(a: str, b: str, strict: bool) -> bool:
    """DMARC identifier alignment (RFC 7489 section 3.1)."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return a == b if strict else org(a) == org(b)


def spf_record(resolver: Resolver, domain: str) -> str | None:
    """The one ``v=spf1`` record of ``domain``, None when absent; two is an error."""
    found = [t for t in resolver.txt(domain) if t.lower().startswith("v=spf1")]
    if len(found) > 1:
        raise ValueError(f"{domain} has {len(found)} SPF records (must be one: permerror)")
    return found[0] if found else None


def spf_allows(resolver: Resolver, domain: str, target: str, depth: int = 0) -> bool:
    """Whether SPF of ``domain`` passes mail from ``target`` (an IP, a host, or
    ``include:amazonses.com``), following include, a, mx and redirect."""
    if depth > MAX_SPF_DEPTH:
        return False
    record = spf_record(resolver, domain)
    if record is None:
        return False
    ips = (
        []
        if target.startswith("include:")
        else [ipaddress.ip_address(a) for a in resolver.addresses(target)]
    )
    for term in record.split()[1:]:
        qualifier = term[0] if term[0] in "+-~?" else "+"
        mech = term.lstrip("+-~?").lower()
        if mech.startswith("redirect="):
            return spf_allows(resolver, mech.split("=", 1)[1], target, depth + 1)
        if qualifier != "+":
            continue
        if mech.startswith("include:"):
            name = mech.split(":", 1)[1]
            if target == f"include:{name}":
                return True
            if not target.startswith("include:") and spf_allows(resolver, name, target, depth + 1):
                return True
        elif mech.startswith(("ip4:", "ip6:")):
            net = ipaddress.ip_network(mech[4:], strict=False)
            if any(ip.version == net.version and ip in net for ip in ips):
                return True
        elif mech == "a" or mech.startswith("a:"):
            host = mech[2:] if ":" in mech else domain
            if ips and set(map(str, ips)) & set(resolver.addresses(host)):
                return True
        elif mech == "mx" or mech.startswith("mx:"):
            host = mech[3:] if ":" in mech else domain
            for exchanger in resolver.mx(host):
                if ips and set(map(str, ips)) & set(resolver.addresses(exchanger)):
                    return True
        elif mech == "all":
            return True
    return False


def dmarc_record(resolver: Resolver, domain: str) -> dict[str, str] | None:
    """The DMARC tags at ``_dmarc.<domain>`` (or its organisational domain), None if absent."""
    for name in dict.fromkeys([domain, org(domain)]):
        for text in resolver.txt(f"_dmarc.{name}"):
            if text.lower().startswith("v=dmarc1"):
                tags = {}
                for part in text.split(";"):
                    key, _, value = part.strip().partition("=")
                    if key:
                        tags[key.strip().lower()] = value.strip()
                return tags
    return None


def _path(
    settings: Settings,
    domain: str,
    resolver: Resolver,
    account: Any | None,
    out: Diagnosis,
    area: str,
) -> Path:
    if settings.delivery.transport == "ses":
        if account is None:
            out.add(area, "DKIM", UNKNOWN, "SES identity not read", "see the SES checks")
            return Path(None, f"include:{SES_SPF_INCLUDE}", UNKNOWN, None)
        try:
            identity = account.identity(domain)
        except CouldNotCheck as exc:
            out.add(
                area, "DKIM", UNKNOWN, str(exc), "check AWS credentials and ses:GetEmailIdentity"
            )
            return Path(None, f"include:{SES_SPF_INCLUDE}", UNKNOWN, None)
        if identity is None:
            out.add(
                area,
                "DKIM",
                FAIL,
                f"{domain} is not an SES identity: SES will not send from it",
                "verify the domain in SES "
                f"(aws sesv2 create-email-identity --email-identity {domain})",
            )
            return Path(None, f"include:{SES_SPF_INCLUDE}", FAIL, None)
        dkim = identity.get("DkimAttributes", {})
        status = str(dkim.get("Status", "NOT_STARTED"))
        if status == "SUCCESS" and dkim.get("SigningEnabled"):
            out.add(area, "DKIM", PASS, f"SES signs with d={domain} (DKIM {status})")
            dkim_result, dkim_domain = PASS, domain
        else:
            out.add(
                area,
                "DKIM",
                FAIL,
                f"SES DKIM for {domain} is {status}"
                + ("" if dkim.get("SigningEnabled") else ", signing off"),
                "publish the three CNAME records `mailer ses status` / the SES console lists",
            )
            dkim_result, dkim_domain = FAIL, None
        mail_from = identity.get("MailFromAttributes", {}) or {}
        custom = mail_from.get("MailFromDomain") or None
        if custom and mail_from.get("MailFromDomainStatus") not in (None, "SUCCESS"):
            custom = None
        return Path(custom, f"include:{SES_SPF_INCLUDE}", dkim_result, dkim_domain)
    # SMTP: the envelope sender is the list's from address.
    selector = settings.guardrails.dkim_selector
    if not selector:
        out.add(
            area,
            "DKIM",
            WARN,
            "no DKIM selector configured, so the key was not looked up",
            "set guardrails.dkim_selector to the selector your SMTP server signs with",
        )
        return Path(domain, settings.smtp.host, WARN, None)
    name = f"{selector}._domainkey.{domain}"
    try:
        keys = [t for t in resolver.txt(name) if "p=" in t.replace(" ", "")]
    except CouldNotCheck as exc:
        out.add(area, "DKIM", UNKNOWN, str(exc), "check DNS reachability")
        return Path(domain, settings.smtp.host, UNKNOWN, None)
    has_key = any(
        part.strip().lower().startswith("p=") and part.strip()[2:].strip()
        for t in keys
        for part in t.split(";")
    )
    if has_key:
        out.add(area, "DKIM", PASS, f"key published at {name}")
        return Path(domain, settings.smtp.host, PASS, domain)
    out.add(
        area,
        "DKIM",
        FAIL,
        f"no DKIM public key at {name}" + (" (revoked: empty p=)" if keys else ""),
        f"publish the TXT record your SMTP server's DKIM key gives, at {name}",
    )
    return Path(domain, settings.smtp.host, FAIL, None)


def _term(covers: str) -> str:
    """The SPF term that lets the sending path through."""
    return covers if covers.startswith("include:") else f"a:{covers}"


def _spf(resolver: Resolver, domain: str, path: Path, out: Diagnosis, area: str) -> str:
    """Check SPF on the envelope domain; returns PASS when it passes for the sending path."""
    if path.mail_from is None:
        try:
            record = spf_record(resolver, domain)
        except (CouldNotCheck, ValueError) as exc:
            out.add(area, "SPF", UNKNOWN if isinstance(exc, CouldNotCheck) else FAIL, str(exc))
            return UNKNOWN
        out.add(
            area,
            "SPF",
            WARN,
            "SES sends with its own MAIL FROM (amazonses.com): SPF passes but cannot align "
            f"with {domain}"
            + (f"; {domain} has {record!r}" if record else f"; {domain} has no SPF record"),
            f"give the SES identity a custom MAIL FROM domain (e.g. bounce.{domain}) with "
            f'"v=spf1 include:{SES_SPF_INCLUDE} ~all" so SPF aligns too',
        )
        return WARN
    try:
        record = spf_record(resolver, path.mail_from)
        if record is None:
            out.add(
                area,
                "SPF",
                FAIL,
                f"no SPF record at {path.mail_from}",
                f'publish TXT "v=spf1 {_term(path.spf_covers)} ~all" at {path.mail_from}',
            )
            return FAIL
        covered = spf_allows(resolver, path.mail_from, path.spf_covers)
    except CouldNotCheck as exc:
        out.add(area, "SPF", UNKNOWN, str(exc), "check DNS reachability")
        return UNKNOWN
    except ValueError as exc:
        out.add(area, "SPF", FAIL, str(exc), "merge them into one v=spf1 record")
        return FAIL
    what = path.spf_covers.replace("include:", "")
    if covered:
        out.add(area, "SPF", PASS, f"{path.mail_from}: {record!r} covers {what}")
        return PASS
    out.add(
        area,
        "SPF",
        FAIL,
        f"{path.mail_from}: {record!r} does not cover the sending path ({what})",
        f"add {_term(path.spf_covers)} to the SPF record of {path.mail_from}",
    )
    return FAIL


def check(
    settings: Settings,
    senders: list[tuple[str, str]],
    resolver: Resolver,
    account: Any | None,
    out: Diagnosis,
) -> None:
    """Add the SPF, DKIM and DMARC checks for every distinct from domain."""
    domains: dict[str, list[str]] = {}
    for slug, sender in senders:
        domains.setdefault(sender.rpartition("@")[2].lower(), []).append(slug)
    for domain, slugs in domains.items():
        area = f"domain {domain}"
        path = _path(settings, domain, resolver, account, out, area)
        spf = _spf(resolver, domain, path, out, area)
        try:
            tags = dmarc_record(resolver, domain)
        except CouldNotCheck as exc:
            out.add(area, "DMARC", UNKNOWN, str(exc), "check DNS reachability")
            continue
        if tags is None:
            out.add(
                area,
                "DMARC",
                FAIL,
                f"no DMARC record at _dmarc.{domain} (Gmail and Yahoo require one for bulk mail)",
                f'publish TXT "v=DMARC1; p=none; rua=mailto:dmarc@{domain}" at _dmarc.{domain}, '
                "then tighten p= once reports look clean",
            )
            continue
        policy = tags.get("p", "")
        if policy not in ("none", "quarantine", "reject"):
            out.add(
                area,
                "DMARC",
                FAIL,
                f"policy p={policy!r} is not valid",
                "set p=none, quarantine or reject",
            )
            continue
        out.add(area, "DMARC", PASS, f"policy p={policy} (lists: {', '.join(slugs)})")
        spf_aligned = (
            spf == PASS
            and path.mail_from is not None
            and aligned(path.mail_from, domain, tags.get("aspf") == "s")
        )
        dkim_aligned = path.dkim_domain is not None and aligned(
            path.dkim_domain, domain, tags.get("adkim") == "s"
        )
        which = [n for n, ok in (("SPF", spf_aligned), ("DKIM", dkim_aligned)) if ok]
        if which:
            out.add(area, "DMARC alignment", PASS, f"{' and '.join(which)} aligned with {domain}")
        elif UNKNOWN in (spf, path.dkim):
            out.add(area, "DMARC alignment", UNKNOWN, "SPF or DKIM could not be checked")
        else:
            out.add(
                area,
                "DMARC alignment",
                FAIL,
                f"neither SPF nor DKIM aligns with {domain}: DMARC fails for every message",
                "fix DKIM above (the usual way to align), or SPF on an aligned MAIL FROM domain",
            )
