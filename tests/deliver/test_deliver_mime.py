"""Personalised MIME messages: every rendering parses back to exactly what was meant."""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.deliver.mime import MessageTemplate, Personal, encode_display_name
from mailer.errors import InvalidToken, UnsafeHeader
from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem
from tests.support.deliver import body_of

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


def shown_name(name: str) -> str:
    """The display name mailer promises to carry: one-spaced, controls dropped, capped."""
    phrase = " ".join(
        re.sub("[\x00-\x1f\x7f-\x9f\u2028\u2029]", "", " ".join(name.split())).split()
    )
    return phrase[:MAX_DISPLAY_NAME].strip()


def _with_address(name: str, address: str) -> str:
    phrase = shown_name(name)
    if not phrase:
        return address
    encoded = encode_display_name(name)
    if not encoded.startswith("=?"):
        # A short ASCII name goes out as an atom or a quoted string, as written.
        return f"{encoded} <{address}>"
    return f"{phrase} <{address}>"


def decoded(data: bytes, header: str) -> str:
    """A header's text by the RFC 2047 decoder (whitespace between encoded words dropped)."""
    raw = email.message_from_bytes(data, policy=email.policy.compat32)[header]
    return str(make_header(decode_header(raw.replace("\r\n", "").replace("\n", ""))))


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


values_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=300)
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
    assert decoded(data, "To") == _with_address(name, address)
    assert "".join(to[0].display_name.split()) == "".join(shown_name(name).split())
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
    content = body_of(msg, "html")
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
    from mailer.deliver.tokens import RecipientLinks
    from mailer.lists.addresses import email_hash

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
    with pytest.raises(InvalidToken):
        links.read_token(settings, "preferences", unsubscribe.rsplit("/", 1)[1])
    other = Settings()
    with pytest.raises(InvalidToken):
        links.read_token(other, "unsubscribe", unsubscribe.rsplit("/", 1)[1])


@pytest.mark.parametrize("hashed", ["0f" * 32, 'not "hex" \\ ü'])
def test_fast_link_payload_is_the_json_one(hashed: str) -> None:
    from mailer.config import Settings
    from mailer.deliver.tokens import LinkSigner, RecipientLinks

    settings = Settings()
    settings.site.secret_key = "s3cret-for-this-test-0123456789-abcdef"  # type: ignore[assignment]
    for slug in ("weekly", 'wö"chentlich'):
        unsubscribe, preferences = RecipientLinks(settings, slug).urls(hashed)
        assert unsubscribe.endswith("/" + LinkSigner(settings, "unsubscribe").token(slug, hashed))
        assert preferences.endswith("/" + LinkSigner(settings, "preferences").token(slug, hashed))


LOOK_ALIKES = [
    "=?utf-8?q?A=0D=0ABcc:_x@evil.example?=",
    "=?utf-8?q?A=0D=0A=0D=0AForged body?=",
    "=?utf-8?b?QQ0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?= tail",
    "Hi =?iso-8859-1?q?=0A?= there",
]
any_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=400),
    st.sampled_from(LOOK_ALIKES),
    st.text(alphabet='ab =?_:\r\n\u2028\x85\x0b\x0cé"<>', max_size=120),
    st.text(alphabet="abc ", min_size=200, max_size=3000),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=any_text, from_name=any_text, name=any_text)
def test_arbitrary_subject_and_names_never_make_headers(
    subject: str, from_name: str, name: str
) -> None:
    try:
        tpl = MessageTemplate(
            subject=subject,
            from_name=from_name,
            from_email="news@example.org",
            reply_to="editor@example.org",
            html_body="<p>%%subscriber.name%%</p>",
            text_body="%%subscriber.name%%",
            list_id='"Weekly" <weekly.example.org>',
            unsubscribe_mailto="unsubscribe@example.org?subject=unsubscribe",
            headers={"X-Mailer-Send-Id": "42"},
        )
    except UnsafeHeader:
        # Refused only for what `mailer check` refuses too: a line break or control.
        assert one_line_problem(subject) or one_line_problem(from_name)
        return
    assert one_line_problem(subject) is None and one_line_problem(from_name) is None
    data = tpl.render(
        Personal(email="reader@example.com", name=name, unsubscribe_url="https://x.example/u/1")
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in data.split(b"\r\n"):
        assert len(line) <= 998
    # The lines mailer encodes are folded for readers too (RFC 5322's 78).
    assert all(
        len(line) <= 78
        for line in head.split(b"\r\n")
        if not line.startswith((b"Content-Type:", b"List-Unsubscribe:"))
    )
    msg = parse(data)
    assert sorted(k.lower() for k in msg.keys()) == sorted(EXPECTED_HEADERS)  # noqa: SIM118
    assert decoded(data, "Subject") == subject
    assert "".join(msg["Subject"].split()) == "".join(subject.split())
    sender = msg["From"].addresses
    assert [a.addr_spec for a in sender] == ["news@example.org"]
    assert "".join(sender[0].display_name.split()) == "".join(shown_name(from_name).split())
    to = msg["To"].addresses
    assert [a.addr_spec for a in to] == ["reader@example.com"]
    assert "".join(to[0].display_name.split()) == "".join(shown_name(name).split())
    assert msg["Reply-To"] == "editor@example.org"
    assert msg["List-Unsubscribe"].startswith("<https://x.example/u/1>")


@pytest.mark.parametrize("evil", LOOK_ALIKES)
def test_encoded_word_look_alikes_are_carried_as_literal_text(evil: str) -> None:
    tpl = MessageTemplate(
        subject=evil,
        from_name=evil,
        from_email="news@example.org",
        html_body="",
        text_body="",
    )
    data = tpl.render(Personal(email="a@example.com", name=evil))
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in head and b"=0D=0A" not in head
    msg = parse(data)
    assert msg["Bcc"] is None
    assert msg["Subject"] == evil
    # Names by the RFC 2047 decoder (the modern parser keeps the folding
    # whitespace between encoded words), checked whole, address included.
    assert decoded(data, "From") == f"{evil} <news@example.org>"
    assert decoded(data, "To") == f"{evil} <a@example.com>"


@pytest.mark.parametrize(
    "brk", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x07", "\t"]
)
def test_every_line_break_and_control_is_refused_in_subject_and_from(brk: str) -> None:
    for field_name in ("subject", "from_name"):
        kwargs = {
            "subject": "s",
            "from_name": "n",
            "from_email": "news@example.org",
            "html_body": "",
            "text_body": "",
        }
        kwargs[field_name] = f"Hi{brk}Bcc: x@example.org"
        with pytest.raises(UnsafeHeader, match=f"U\\+{ord(brk):04X}"):
            MessageTemplate(**kwargs)  # type: ignore[arg-type]


def test_a_3000_character_name_is_capped_and_folded() -> None:
    data = template().render(Personal(email="a@example.com", name="Zoë Ann " * 375))
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    to = head[head.index("\r\nTo: ") + 2 : head.index("\r\nDate: ")]
    assert max(len(line) for line in to.split("\r\n")) <= 78
    assert len(to) < 600  # 200 characters, not 3,000
    name = parse(data)["To"].addresses[0].display_name
    assert "".join(name.split()) == "".join(("Zoë Ann " * 375)[:MAX_DISPLAY_NAME].split())


def test_non_ascii_domains_go_out_as_a_labels() -> None:
    tpl = MessageTemplate(
        subject="s", from_name="n", from_email="news@bücher.example", html_body="", text_body=""
    )
    msg = parse(tpl.render(Personal(email="zoe@müller.example")))
    assert msg["To"].addresses[0].addr_spec == "zoe@xn--mller-kva.example"
    assert msg["From"].addresses[0].addr_spec == "news@xn--bcher-kva.example"
    assert msg["Message-ID"].endswith("@xn--bcher-kva.example>")
