"""The doctor tests' kit: a real DNS server on loopback (dnslib), serving a zone the test writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import RCODE
from dnslib.server import BaseResolver, DNSServer
from dnslib.zoneresolver import ZoneResolver

from tests.support.peers import free_port

ZONE = """
good.example.           300 IN TXT "v=spf1 include:_spf.good.example -all"
_spf.good.example.      300 IN TXT "v=spf1 ip4:127.0.0.0/24 ~all"
good.example.           300 IN MX 10 mx.good.example.
mx.good.example.        300 IN A 127.0.0.1
_dmarc.good.example.    300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.example"
mail._domainkey.good.example. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"
smtp.good.example.      300 IN A 127.0.0.1
bad.example.            300 IN TXT "some-site-verification=abc"
bad.example.            300 IN MX 10 mx.good.example.
twice.example.          300 IN TXT "v=spf1 -all"
twice.example.          300 IN TXT "v=spf1 a -all"
twice.example.          300 IN MX 10 mx.good.example.
_dmarc.twice.example.   300 IN TXT "v=DMARC1; p=none"
elsewhere.example.      300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
elsewhere.example.      300 IN MX 10 mx.good.example.
_dmarc.elsewhere.example. 300 IN TXT "v=DMARC1; p=quarantine"
ses.example.            300 IN MX 10 mx.good.example.
_dmarc.ses.example.     300 IN TXT "v=DMARC1; p=none"
"""


class _Silent(BaseResolver):
    """Answers nothing in time: what a dead or filtered resolver looks like."""

    def resolve(self, request: Any, handler: Any) -> Any:
        time.sleep(2)
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply


@contextmanager
def dns_server(zone: str = ZONE, silent: bool = False) -> Iterator[str]:
    """Serve ``zone`` over UDP on loopback; yields ``"127.0.0.1:PORT"``."""
    port = free_port()
    resolver = _Silent() if silent else ZoneResolver(zone, glob=False)
    server = DNSServer(resolver, port=port, address="127.0.0.1", logger=_quiet())
    server.start_thread()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


def _quiet() -> Any:
    from dnslib.server import DNSLogger

    return DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
