"""Address normalisation: the fast path never disagrees with email-validator."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.errors import InvalidEmail
from mailer.lists.addresses import _fast, normalise_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ann.Lee@Example.ORG ", "Ann.Lee@example.org"),
        ("x+tag@sub.example.com", "x+tag@sub.example.com"),
        ("jörg@Bücher.example", "jörg@bücher.example"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("no-at-sign.example.org", "@-sign"),
        ("a..b@example.org", "two periods"),
        ("a@localhost", "period"),
        ("a@example.test", "special-use"),
        ("a@1.2.3.4", "top-level"),
        ("a@ab--cd.example.org", "two dashes"),  # found by the property test below
    ],
)
def test_rejects_with_reason(raw: str, why: str) -> None:
    with pytest.raises(InvalidEmail, match=why):
        normalise_email(raw)


_ALPHABET = "aAzZ09._+-@!#&'*/=?^`{|}~\"() ,:;<>[]\\xn.éü"


@settings(max_examples=5000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=_ALPHABET, max_size=40),
        st.from_regex(
            r"[a-zA-Z0-9._+-]{1,70}@[a-zA-Z0-9.-]{1,40}\.[a-zA-Z0-9-]{1,8}", fullmatch=True
        ),
    )
)
def test_fast_path_agrees_with_email_validator(candidate: str) -> None:
    fast = _fast(candidate)
    if fast is None:
        return  # the library decides these
    try:
        expected = validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        pytest.fail(f"fast path accepted {candidate!r}, email-validator says: {exc}")
    assert fast == expected
