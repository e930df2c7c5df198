"""DNS lookups for the doctor: dnspython, a short timeout, and no guessing.

A name that does not exist, or has no record of the type asked, is an answer
(the record is missing). A timeout, a refused query or a server failure is
not: it raises ``CouldNotCheck`` so the check reports "could not check"
rather than pass or fail.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import dns.exception
import dns.nameserver
import dns.resolver

from mailer.config import Settings


class CouldNotCheck(Exception):
    """A lookup that could not be made; the message says which and why."""


class Resolver:
    """TXT, A/AAAA and MX lookups with one timeout for the whole lookup."""

    def __init__(self, nameservers: list[str] | None = None, timeout: float = 3.0) -> None:
        if nameservers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [_nameserver(ns) for ns in nameservers]
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self._resolver = dns.resolver.Resolver(configure=False)
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout
        self._resolver.cache = dns.resolver.Cache()

    @classmethod
    def from_settings(cls, settings: Settings) -> Resolver:
        g = settings.guardrails
        return cls(list(g.dns_nameservers), g.dns_timeout)

    def _query(self, name: str, rdtype: str) -> list[Any]:
        if not self._resolver.nameservers:
            raise CouldNotCheck(f"{rdtype} {name}: no DNS resolver configured")
        try:
            return list(self._resolver.resolve(name, rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout as exc:
            raise CouldNotCheck(f"{rdtype} {name}: DNS timed out") from exc
        except dns.resolver.NoNameservers as exc:
            raise CouldNotCheck(f"{rdtype} {name}: no DNS server answered (SERVFAIL)") from exc
        except dns.exception.DNSException as exc:
            raise CouldNotCheck(f"{rdtype} {name}: {type(exc).__name__}: {exc}") from exc

    def txt(self, name: str) -> list[str]:
        """The TXT records at ``name``, each one string (its chunks joined)."""
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self._query(name, "TXT")]

    def addresses(self, name: str) -> list[str]:
        """IPv4 and IPv6 addresses of ``name`` (or ``name`` itself when it is one)."""
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            pass
        return [r.to_text() for r in self._query(name, "A")] + [
            r.to_text() for r in self._query(name, "AAAA")
        ]

    def mx(self, name: str) -> list[str]:
        """Mail exchanger host names of ``name``, most preferred first."""
        rows = sorted(self._query(name, "MX"), key=lambda r: r.preference)
        return [r.exchange.to_text().rstrip(".") for r in rows]


def _nameserver(spec: str) -> Any:
    """``"192.0.2.53"`` or ``"127.0.0.1:5353"`` (``"[::1]:5353"`` for IPv6)."""
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif spec.count(":") == 1:
        host, raw = spec.split(":")
        port = int(raw)
    return dns.nameserver.Do53Nameserver(host, port)
