"""SPF, DKIM, DMARC and alignment, checked against a real DNS server on loopback."""

from __future__ import annotations

import time

import pytest

from mailer.config import Settings
from mailer.doctor import FAIL, PASS, UNKNOWN, WARN, Diagnosis, domains
from mailer.doctor.dns import CouldNotCheck, Resolver
from tests.support.doctor import dns_server


@pytest.fixture(scope="module")
def nameserver() -> str:  # type: ignore[misc]
    with dns_server() as ns:
        yield ns


def run(settings: Settings, ns: str, *senders: str) -> dict[tuple[str, str], tuple[str, str]]:
    out = Diagnosis()
    pairs = [(f"list{i}", s) for i, s in enumerate(senders)]
    domains.check(settings, pairs, Resolver([ns], 1.0), None, out)
    return {(c.area, c.item): (c.status, c.detail) for c in out.checks}


def smtp(settings: Settings) -> Settings:
    settings.delivery.transport = "smtp"
    settings.smtp.host = "smtp.good.example"
    settings.guardrails.dkim_selector = "mail"
    return settings


def test_a_well_set_up_domain_passes_everything(settings: Settings, nameserver: str) -> None:
    found = run(smtp(settings), nameserver, "news@good.example")
    area = "domain good.example"
    assert found[(area, "SPF")][0] == PASS
    assert "covers smtp.good.example" in found[(area, "SPF")][1]  # via include: and ip4:
    assert found[(area, "DKIM")] == (PASS, "key published at mail._domainkey.good.example")
    assert found[(area, "DMARC")][0] == PASS and "p=reject" in found[(area, "DMARC")][1]
    assert found[(area, "DMARC alignment")] == (PASS, "SPF and DKIM aligned with good.example")


def test_missing_records_fail_with_a_fix(settings: Settings, nameserver: str) -> None:
    out = Diagnosis()
    domains.check(
        smtp(settings), [("l", "news@bad.example")], Resolver([nameserver], 1.0), None, out
    )
    by_item = {c.item: c for c in out.checks}
    assert by_item["SPF"].status == FAIL and "no SPF record at bad.example" in by_item["SPF"].detail
    assert "v=spf1 a:smtp.good.example ~all" in by_item["SPF"].fix
    assert by_item["DKIM"].status == FAIL
    assert by_item["DMARC"].status == FAIL and "_dmarc.bad.example" in by_item["DMARC"].fix


def test_spf_that_does_not_cover_the_smtp_host_fails_and_so_does_alignment(
    settings: Settings, nameserver: str
) -> None:
    settings = smtp(settings)
    settings.guardrails.dkim_selector = "absent"
    found = run(settings, nameserver, "news@elsewhere.example")
    area = "domain elsewhere.example"
    assert found[(area, "SPF")][0] == FAIL
    assert "does not cover the sending path (smtp.good.example)" in found[(area, "SPF")][1]
    assert found[(area, "DMARC")][0] == PASS  # the record is there, p=quarantine
    assert found[(area, "DMARC alignment")][0] == FAIL


def test_two_spf_records_are_an_error(settings: Settings, nameserver: str) -> None:
    found = run(smtp(settings), nameserver, "news@twice.example")
    status, detail = found[("domain twice.example", "SPF")]
    assert status == FAIL and "2 SPF records" in detail


def test_ses_without_custom_mail_from_warns_that_spf_cannot_align(
    settings: Settings, nameserver: str
) -> None:
    settings.delivery.transport = "ses"

    class Account:
        def identity(self, name: str) -> dict[str, object]:
            return {"DkimAttributes": {"Status": "SUCCESS", "SigningEnabled": True}}

    out = Diagnosis()
    domains.check(settings, [("l", "a@ses.example")], Resolver([nameserver], 1.0), Account(), out)
    by_item = {c.item: c for c in out.checks}
    assert by_item["SPF"].status == WARN and "cannot align" in by_item["SPF"].detail
    assert by_item["DKIM"].status == PASS
    assert by_item["DMARC alignment"].detail == "DKIM aligned with ses.example"


def test_an_unreachable_resolver_is_could_not_check_never_a_pass(settings: Settings) -> None:
    with dns_server(silent=True) as ns:
        resolver = Resolver([ns], 0.3)
        start = time.monotonic()
        with pytest.raises(CouldNotCheck, match="timed out"):
            resolver.txt("good.example")
        assert time.monotonic() - start < 1.5  # the short timeout holds
        out = Diagnosis()
        domains.check(smtp(settings), [("l", "news@good.example")], resolver, None, out)
    statuses = {c.item: c.status for c in out.checks}
    assert statuses == {"DKIM": UNKNOWN, "SPF": UNKNOWN, "DMARC": UNKNOWN}
    assert out.exit_code == 3
