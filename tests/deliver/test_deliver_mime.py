"""Personalised MIME messages: every rendering parses back to exactly what was meant."""

from __future__ import annotations

import email
import email.policy
import html
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.deliver.mime import MessageTemplate, Personal, UnsafeHeader, encode_display_name

HTML = (
    "<html><body><p>Dear %%subscriber.name%%,</p>\n"
    "<p style='font-family:Helvetica;color:#333'>Café news from %%subscriber.attributes.city%%"
    " for %%subscriber.email%% — ünïcödé ✓ 中文</p>\n"
    '<a href="%%unsubscribe_url%%">Unsubscribe</a> | <a href="%%preferences_url%%">Prefs</a>'
    ' | <a href="%%web_url%%">View</a>' + "<td>" + "x" * 300 + "</td>\n"
    "%%subscriber.name%%%%subscriber.attributes.city%%</body></html>\n"
)
TEXT = (
    "Dear %%subscriber.name%%,\n\nNews from %%subscriber.attributes.city%% for %%subscriber.email%%"
    " — ünïcödé ✓ 中文\n"
    + "y"
    * 500
    + "\nUnsubscribe: %%unsubscribe_url%%\nPrefs: %%preferences_url%%\n"
    "View: %%web_url%%\n%%subscriber.name%%%%subscriber.attributes.city%%"
)
WEB = "https://news.example.org/issues/a-b/?x=1&y=2"
EXPECTED_HEADERS = {
    "subject",
    "from",
    "reply-to",
    "list-id",
    "x-mailer-send-id",
    "to",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
}


def template(subject: str = "Ça va? Weekly ✉ news — issue 12") -> MessageTemplate:
    return MessageTemplate(
        subject=subject,
        from_name="Zeitung für Ünïcode",
        from_email="news@example.org",
        reply_to="editor@example.org",
        html_body=HTML,
        text_body=TEXT,
        list_id='"Weekly" <weekly.example.org>',
        unsubscribe_mailto="unsubscribe@example.org?subject=unsubscribe",
        headers={"X-Mailer-Send-Id": "42"},
        static={"web_url": WEB},
    )


def expected(body: str, values: dict[str, str], escape: bool) -> str:
    for key, value in values.items():
        body = body.replace(f"%%{key}%%", html.escape(value, quote=True) if escape else value)
    return body.replace("\r\n", "\n").replace("\r", "\n")


def _with_address(name: str, address: str) -> str:
    phrase = " ".join(name.split())
    if not phrase:
        return address
    if phrase.isascii() and phrase.isprintable():
        # An ASCII name goes out as an atom or a quoted string, as written.
        return f"{encode_display_name(name)} <{address}>"
    return f"{phrase} <{address}>"


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


values_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300
)
names = st.one_of(
    values_text,
    st.text(alphabet="abcdeé ü中\r\n\t\"'<>@,;:\\=.()", max_size=80),
    st.just("Bcc: victim@example.org"),
)
urls = st.from_regex(r"https://news\.example\.org/u/[A-Za-z0-9_.-]{20,200}", fullmatch=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=names,
    city=values_text,
    unsub=urls,
    prefs=urls,
    local=st.from_regex(r"[a-z0-9.+_-]{1,40}", fullmatch=True),
)
def test_every_personalised_message_parses_to_the_intended_content(
    name: str, city: str, unsub: str, prefs: str, local: str
) -> None:
    tpl = template()
    address = f"{local}@example.com"
    data = tpl.render(
        Personal(
            email=address,
            name=name,
            attributes={"city": city},
            unsubscribe_url=unsub,
            preferences_url=prefs,
            message_id="<42.7.abc@example.org>",
        )
    )
    # SMTP's hard limit, and CRLF everywhere.
    for line in data.split(b"\r\n"):
        assert len(line) <= 998
        assert b"\n" not in line and b"\r" not in line
    msg = parse(data)
    assert not msg.defects
    # No header injected, none lost.
    # (a list, so that a duplicated header shows too)
    assert sorted(k.lower() for k in msg.keys()) == sorted(EXPECTED_HEADERS)  # noqa: SIM118
    assert msg["X-Mailer-Send-Id"] == "42"
    to = msg["To"].addresses
    assert len(to) == 1
    assert to[0].addr_spec == address
    # RFC 2047: whitespace between encoded words is not part of the text. The
    # stdlib's modern parser keeps it, so read the name with the RFC decoder,
    # and check the modern parser saw the same characters.
    raw_to = email.message_from_bytes(data, policy=email.policy.compat32)["To"]
    assert str(make_header(decode_header(raw_to))) == _with_address(name, address)
    assert "".join(to[0].display_name.split()) == "".join(name.split())
    assert (
        msg["List-Unsubscribe"]
        == f"<{unsub}>, <mailto:unsubscribe@example.org?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"] == "Ça va? Weekly ✉ news — issue 12"
    assert msg["From"].addresses[0].display_name == "Zeitung für Ünïcode"
    plain, rich = list(msg.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert rich.get_content_type() == "text/html"
    values = {
        "subscriber.name": name,
        "subscriber.attributes.city": city,
        "subscriber.email": address,
        "unsubscribe_url": unsub,
        "preferences_url": prefs,
        "web_url": WEB,
    }
    assert plain.get_content().replace("\r\n", "\n") == expected(TEXT, values, False)
    assert rich.get_content().replace("\r\n", "\n") == expected(HTML, values, True)


def test_long_ascii_subject_parses_without_leading_space() -> None:
    subject = "AI to everything in China: drones, factories, chips, cancer care and coal"
    msg = parse(template(subject).render(Personal(email="a@example.com")))
    assert msg["Subject"] == subject


def test_message_ids_are_unique_and_in_the_senders_domain() -> None:
    tpl = template()
    ids = {tpl.new_message_id("1.2.") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("<1.2.") and i.endswith("@example.org>") for i in ids)


@pytest.mark.parametrize("field", ["subject", "from_name", "reply_to"])
@pytest.mark.parametrize("evil", ["Hi\r\nBcc: x@example.org", "Hi\nBcc: x@example.org", "Hi\rX"])
def test_line_breaks_in_static_headers_are_refused(field: str, evil: str) -> None:
    kwargs = {
        "subject": "s",
        "from_name": "n",
        "from_email": "news@example.org",
        "reply_to": "r@example.org",
        "html_body": "",
        "text_body": "",
    }
    kwargs[field] = evil
    with pytest.raises(UnsafeHeader, match="line break"):
        MessageTemplate(**kwargs)  # type: ignore[arg-type]


def test_unknown_placeholder_is_refused_at_build_time() -> None:
    with pytest.raises(UnsafeHeader, match=r"%%subscriber\.nmae%%"):
        MessageTemplate(
            subject="s",
            from_name="n",
            from_email="news@example.org",
            html_body="<p>%%subscriber.nmae%%</p>",
            text_body="",
        )


def test_missing_attribute_renders_empty_and_values_are_html_escaped() -> None:
    tpl = template()
    msg = parse(tpl.render(Personal(email="a@example.com", name="<b>Tom & Jerry</b>")))
    rich = msg.get_body(("html",))
    assert rich is not None
    content = rich.get_content()
    assert "Dear &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;," in content
    assert "Café news from  for a@example.com" in content


def test_display_names_are_atoms_quoted_or_encoded() -> None:
    assert encode_display_name("Ada Lovelace") == "Ada Lovelace"
    assert encode_display_name('Ada "A." Lovelace') == '"Ada \\"A.\\" Lovelace"'
    assert encode_display_name("Zoë").startswith("=?utf-8?b?")
    assert "\n" not in encode_display_name("a\r\nBcc: x").replace("\r\n ", "")


def test_non_ascii_address_is_refused_not_mangled() -> None:
    with pytest.raises(UnsafeHeader, match="SMTPUTF8"):
        template().render(Personal(email="zoë@example.com"))


def test_fast_link_tokens_verify_with_mailer_links() -> None:
    from mailer import links
    from mailer.config import Settings
    from mailer.db import email_hash
    from mailer.deliver.tokens import RecipientLinks

    settings = Settings()
    settings.site.secret_key = "s3cret-for-this-test-0123456789-abcdef"  # type: ignore[assignment]
    hashed = email_hash("zoë@example.org")
    unsubscribe, preferences = RecipientLinks(settings, "wöchentlich").urls(hashed)
    assert unsubscribe.startswith(links.unsubscribe_url(settings, ""))
    read = links.read_token(settings, "unsubscribe", unsubscribe.rsplit("/", 1)[1])
    assert (read.list_slug, read.email_hash) == ("wöchentlich", hashed)
    read = links.read_token(settings, "preferences", preferences.rsplit("/", 1)[1])
    assert (read.list_slug, read.email_hash) == ("wöchentlich", hashed)
    # A token for one purpose is not valid for the other, nor under another key.
    with pytest.raises(links.InvalidToken):
        links.read_token(settings, "preferences", unsubscribe.rsplit("/", 1)[1])
    other = Settings()
    with pytest.raises(links.InvalidToken):
        links.read_token(other, "unsubscribe", unsubscribe.rsplit("/", 1)[1])
