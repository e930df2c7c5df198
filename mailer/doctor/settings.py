"""Configuration checks: the settings a compliant bulk sender cannot do without."""

from __future__ import annotations

from urllib.parse import urlsplit

from mailer.config import Settings
from mailer.doctor.diagnosis import FAIL, PASS, UNKNOWN, WARN, Diagnosis
from mailer.doctor.dns import CouldNotCheck, Resolver
from mailer.errors import ConfigError
from mailer.keys import key_file, site_keys

UNREAD = ("noreply", "no-reply", "donotreply", "do-not-reply", "no_reply", "mailer-daemon")


def check(
    settings: Settings, senders: list[tuple[str, str]], resolver: Resolver, out: Diagnosis
) -> None:
    """Add the configuration checks."""
    url = urlsplit(settings.site.base_url)
    if url.scheme == "https" and url.hostname:
        out.add("config", "site.base_url", PASS, f"{settings.site.base_url} is https")
    else:
        out.add(
            "config",
            "site.base_url",
            FAIL,
            f"{settings.site.base_url!r} is not an https URL: RFC 8058 one-click "
            "unsubscribe (required by Gmail and Yahoo) needs https",
            "set site.base_url to the public https address of `mailer serve`",
        )
    # The same rule every signing command enforces (mailer.keys), so the
    # doctor can never pass a key the web app would refuse.
    try:
        site_keys(settings)
    except ConfigError as exc:
        out.add(
            "config",
            "site.secret_key",
            FAIL,
            exc.message,
            'set site.secret_key to a long random value (python -c "import secrets; '
            'print(secrets.token_urlsafe(48))"), or unset it to use a generated key',
        )
    else:
        if settings.site.secret_key is None:
            seen = f"generated, kept in {key_file(settings)} (back it up with the database)"
        else:
            seen = "set, long enough, not a placeholder"
        out.add("config", "site.secret_key", PASS, seen)
    transport = settings.delivery.transport
    if transport in ("smtp", "ses"):
        out.add("config", "delivery.transport", PASS, f"{transport}")
    else:
        out.add(
            "config",
            "delivery.transport",
            FAIL,
            f"{transport!r} delivers to no one"
            + (
                f" (messages go to {settings.delivery.outbox_dir})" if transport == "outbox" else ""
            ),
            'set delivery.transport to "ses" or "smtp"',
        )
    _mailto(settings, senders, resolver, out)


def _mailto(
    settings: Settings, senders: list[tuple[str, str]], resolver: Resolver, out: Diagnosis
) -> None:
    configured = settings.site.unsubscribe_mailto.strip()
    if configured:
        addresses = {configured: "site.unsubscribe_mailto"}
    else:
        addresses = {sender: f"list {slug}'s from address" for slug, sender in senders}
    if not addresses:
        out.add(
            "config",
            "unsubscribe_mailto",
            WARN,
            "no list yet, so no mailto: unsubscribe address",
            "set site.unsubscribe_mailto",
        )
    for address, where in addresses.items():
        item = f"unsubscribe_mailto ({where})"
        local, _, domain = address.rpartition("@")
        if not local or not domain:
            out.add("config", item, FAIL, f"{address!r} is not an address", "give a full address")
            continue
        if any(word in local.lower() for word in UNREAD):
            out.add(
                "config",
                item,
                FAIL,
                f"{address} looks unread: mailto: unsubscribe requests sent there are lost",
                "set site.unsubscribe_mailto to a mailbox someone (or `mailer`) reads",
            )
            continue
        try:
            exchangers = resolver.mx(domain)
        except CouldNotCheck as exc:
            out.add("config", item, UNKNOWN, f"{address}: {exc}", "check DNS reachability")
            continue
        if exchangers:
            out.add("config", item, PASS, f"{address} (mail for {domain} goes to {exchangers[0]})")
        else:
            out.add(
                "config",
                item,
                FAIL,
                f"{domain} has no MX record: mail to {address} cannot be delivered",
                f"add an MX record for {domain} or use another address",
            )
