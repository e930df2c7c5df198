"""Every kind of problem in an issue: its field path and its message, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import Settings
from mailer.content import check_issue, load_issue
from mailer.errors import Problem, ValidationError
from tests.support.content import MINIMAL, WriteIssue


def problems_of(folder: Path, settings: Settings) -> dict[str, str]:
    found = check_issue(folder, settings)
    assert all(p.file.endswith("issue.toml") for p in found)
    return {p.path: p.message for p in found}


def test_minimal_issue_is_valid(write_issue: WriteIssue, settings: Settings) -> None:
    folder = write_issue()
    assert check_issue(folder, settings) == []
    issue = load_issue(folder, settings)
    assert issue.slug == "weekly"
    assert issue.features()[0].slug == "first-story"


def test_missing_issue_file(tmp_path: Path, settings: Settings) -> None:
    problems = check_issue(tmp_path / "nothing", settings)
    assert len(problems) == 1
    assert problems[0].path == ""
    assert problems[0].message == "file not found"


def test_invalid_toml_names_the_line(write_issue: WriteIssue, settings: Settings) -> None:
    folder = write_issue('title = "x"\ndate = \n')
    [problem] = check_issue(folder, settings)
    assert "not valid TOML" in problem.message
    assert "line 2" in problem.message


def test_missing_required_fields(write_issue: WriteIssue, settings: Settings) -> None:
    folder = write_issue(
        MINIMAL.replace('title = "Weekly"\n', "").replace('name = "Test Letter"', "")
    )
    found = problems_of(folder, settings)
    assert found["title"] == "is required"
    assert found["newsletter.name"] == "is required"


def test_wrong_types(write_issue: WriteIssue, settings: Settings) -> None:
    folder = write_issue(
        MINIMAL.replace('title = "Weekly"', "title = 5").replace('label = "News"', "label = [1]")
    )
    found = problems_of(folder, settings)
    assert found["title"] == "must be text in quotes (got a number)"
    assert found["sections[0].label"] == "must be text in quotes (got a list)"


def test_unknown_key_suggests_the_right_one(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('headline = "First story"', 'hedline = "First story"')
    toml = toml.replace('preheader = "The week in brief."', 'preheadr = "x"')
    found = problems_of(write_issue(toml), settings)
    assert (
        found["sections[0].stories[0].hedline"] == 'unknown key "hedline"; did you mean "headline"?'
    )
    assert found["preheadr"] == 'unknown key "preheadr"; did you mean "preheader"?'
    # The misspelt key also leaves the real one missing.
    assert found["sections[0].stories[0].headline"] == "is required"


def test_unknown_key_without_a_close_match_lists_allowed(
    write_issue: WriteIssue, settings: Settings
) -> None:
    toml = MINIMAL.replace('name = "Test Letter"', 'name = "Test Letter"\nzzz = 1')
    found = problems_of(write_issue(toml), settings)
    message = found["newsletter.zzz"]
    assert message.startswith('unknown key "zzz"; allowed keys: ')
    assert "postal_address" in message and "accent_color" in message


def test_unknown_key_in_a_brief_uses_brief_keys(
    write_issue: WriteIssue, settings: Settings
) -> None:
    toml = MINIMAL + '\n[[sections.stories]]\nkind = "brief"\nbody = "x"\nsorce = "FT"\n'
    found = problems_of(write_issue(toml), settings)
    assert found["sections[0].stories[1].sorce"] == 'unknown key "sorce"; did you mean "source"?'


def test_bad_url_path_points_at_the_story(write_issue: WriteIssue, settings: Settings) -> None:
    story = '\n[[sections.stories]]\nheadline = "S{n}"\nbody = "Text."\n'
    toml = MINIMAL + '\n[[sections]]\nlabel = "Two"\n' + story.format(n=1) + story.format(n=2)
    toml += 'url = "/relative/page"\n'
    found = problems_of(write_issue(toml), settings)
    assert found == {
        "sections[1].stories[1].url": (
            "must be an absolute URL starting with https:// (got '/relative/page')"
        )
    }


def test_url_with_other_scheme(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL + 'url = "javascript:alert(1)"\n'
    found = problems_of(write_issue(toml), settings)
    assert found["sections[0].stories[0].url"].startswith("must be an absolute URL")


def test_image_needs_https_and_alt(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL + 'image = { src = "http://cdn.example.org/a.png" }\n'
    found = problems_of(write_issue(toml), settings)
    assert found["sections[0].stories[0].image.src"] == (
        "must use https:// (got 'http://cdn.example.org/a.png')"
    )
    assert found["sections[0].stories[0].image.alt"] == "is required"


def test_bad_date(write_issue: WriteIssue, settings: Settings) -> None:
    found = problems_of(write_issue(MINIMAL.replace("2026-01-12", '"next monday"')), settings)
    assert found["date"] == "must be a date like 2026-01-31 (got 'next monday')"


def test_unsupported_and_malformed_language(write_issue: WriteIssue, settings: Settings) -> None:
    found = problems_of(write_issue(MINIMAL.replace('"en"', '"fr"')), settings)
    assert found["language"] == 'no template strings for "fr"; available: en, nl'
    found = problems_of(write_issue(MINIMAL.replace('"en"', '"Dutch"')), settings)
    assert found["language"] == 'must be a language code such as "en" or "nl" (got \'Dutch\')'


def test_regional_language_uses_its_catalog(write_issue: WriteIssue, settings: Settings) -> None:
    assert check_issue(write_issue(MINIMAL.replace('"en"', '"nl-BE"')), settings) == []


def test_unknown_template(write_issue: WriteIssue, settings: Settings) -> None:
    found = problems_of(write_issue('template = "fancy"\n' + MINIMAL), settings)
    assert found["template"].startswith('template "fancy" not found in ')


def test_story_file_problems(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('body = "Something happened. Then more happened."', 'file = "a.md"')
    for extra, name in [
        ('file = "missing.md"', "missing"),
        ('file = "../outside.md"', "outside"),
        ('file = "latin1.md"', "latin1"),
        ('file = "empty.md"', "empty"),
    ]:
        toml += f'\n[[sections.stories]]\nheadline = "{name}"\n{extra}\n'
    folder = write_issue(
        toml, **{"a.md": "Fine.", "latin1.md": "caf\xe9".encode("latin-1"), "empty.md": "\n"}
    )
    found = problems_of(folder, settings)
    assert found["sections[0].stories[1].file"].startswith('file "missing.md" not found in ')
    assert found["sections[0].stories[2].file"] == (
        '"../outside.md" must be a path inside the issue folder'
    )
    assert found["sections[0].stories[3].file"] == 'file "latin1.md" is not UTF-8 text (byte 3)'
    assert found["sections[0].stories[4].file"] == 'file "empty.md" is empty'
    assert "sections[0].stories[0].file" not in found


def test_story_file_becomes_the_body(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('body = "Something happened. Then more happened."', 'file = "s/a.md"')
    issue = load_issue(write_issue(toml, **{"s__a.md": "From *the* file."}), settings)
    assert issue.features()[0].body == "From *the* file."


def test_body_and_file_conflict_or_lack(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL + 'file = "a.md"\n'
    toml += '\n[[sections.stories]]\nheadline = "No text"\n'
    toml += '\n[[sections.stories]]\nkind = "brief"\nsource = "FT"\n'
    toml += '\n[[sections.stories]]\nheadline = "Link out"\nteaser = "Short."\nurl = "https://e.org/x"\n'
    found = problems_of(write_issue(toml, **{"a.md": "x"}), settings)
    assert found["sections[0].stories[0].file"] == "give either body or file, not both"
    assert found["sections[0].stories[1].body"] == (
        "a feature needs body or file (or both teaser and url to link elsewhere)"
    )
    assert found["sections[0].stories[2].body"] == "a brief needs its text: body or file"
    assert not any(path.startswith("sections[0].stories[3]") for path in found)


def test_duplicate_and_malformed_slugs(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL + '\n[[sections.stories]]\nheadline = "First Story!"\nbody = "x"\n'
    toml += '\n[[sections.stories]]\nheadline = "Other"\nslug = "Bad Slug"\nbody = "x"\n'
    found = problems_of(write_issue(toml), settings)
    assert found["sections[0].stories[1].slug"] == (
        '"first-story" is already used by sections[0].stories[0]; set slug'
    )
    assert found["sections[0].stories[2].slug"].startswith("must be lower-case letters and digits")


def test_empty_lists(write_issue: WriteIssue, settings: Settings) -> None:
    toml = "sections = []\n" + MINIMAL.split("[[sections]]")[0]
    assert problems_of(write_issue(toml), settings) == {"sections": "must have at least one entry"}
    toml = MINIMAL.split("[[sections.stories]]")[0]
    assert problems_of(write_issue(toml, slug="b"), settings) == {
        "sections[0].stories": "is required"
    }


def test_unknown_story_kind(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL + '\n[[sections.stories]]\nkind = "column"\nbody = "x"\n'
    found = problems_of(write_issue(toml), settings)
    assert found["sections[0].stories[1].kind"] == 'must be "feature" or "brief"'


def test_blank_values_and_patterns(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('"The week in brief."', '"  "').replace(
        'name = "Test Letter"', 'name = "Test Letter"\naccent_color = "red"'
    )
    found = problems_of(write_issue(toml), settings)
    assert found["preheader"] == "must not be empty (leave the key out instead)"
    assert found["newsletter.accent_color"] == "must be a colour like #b4232a"


def test_too_long_and_out_of_range(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('title = "Weekly"', f'title = "{"x" * 301}"')
    toml += 'image = { src = "https://e.org/a.png", alt = "A", width = 9000 }\n'
    found = problems_of(write_issue(toml), settings)
    assert found["title"] == "is too long: at most 300 characters"
    assert found["sections[0].stories[0].image.width"] == "must be at most 600"


def test_intro_and_intro_file(write_issue: WriteIssue, settings: Settings) -> None:
    toml = 'intro = "Hi"\nintro_file = "intro.md"\n' + MINIMAL
    found = problems_of(write_issue(toml, **{"intro.md": "Hello"}), settings)
    assert found == {"intro_file": "give either intro or intro_file, not both"}
    issue = load_issue(
        write_issue('intro_file = "intro.md"\n' + MINIMAL, slug="b", **{"intro.md": "Hello"}),
        settings,
    )
    assert issue.intro == "Hello"


def test_every_problem_is_reported_at_once(write_issue: WriteIssue, settings: Settings) -> None:
    toml = MINIMAL.replace('title = "Weekly"', "").replace("2026-01-12", '"soon"')
    toml = toml.replace('"en"', '"fr"').replace('headline = "First story"', 'hedline = "x"')
    toml += 'file = "missing.md"\n'
    folder = write_issue(toml)
    with pytest.raises(ValidationError) as info:
        load_issue(folder, settings)
    paths = {p.path for p in info.value.problems}
    assert paths == {
        "title",
        "date",
        "language",
        "sections[0].stories[0].hedline",
        "sections[0].stories[0].headline",
        "sections[0].stories[0].file",
    }
    # body and file conflict *and* the file is missing: two problems on one path.
    assert len(info.value.problems) == 7
    assert "(and 6 more problems)" in str(info.value)
    assert all(isinstance(p, Problem) for p in info.value.problems)


def test_relative_links_in_markdown(write_issue: WriteIssue, settings: Settings) -> None:
    toml = 'intro = "See [our site](/about)."\n' + MINIMAL
    toml += 'why_it_matters = "![chart](chart.png) and [mail](mailto:a@b.org)"\n'
    toml += '\n[[sections.stories]]\nheadline = "From file"\nfile = "s.md"\n'
    toml += '\n[[sections.stories]]\nheadline = "Plain image"\nbody = "![x](http://e.org/x.png)"\n'
    found = problems_of(write_issue(toml, **{"s.md": "Text with [a link](../other/)."}), settings)
    assert found == {
        "intro": "link '/about' is relative; use an absolute https:// URL",
        "sections[0].stories[0].why_it_matters": (
            "image 'chart.png' is relative; use an absolute https:// URL"
        ),
        "sections[0].stories[1].file": (
            "in \"s.md\": link '../other/' is relative; use an absolute https:// URL"
        ),
        "sections[0].stories[2].body": "image 'http://e.org/x.png' must use https://",
    }


def test_byte_order_marks_are_accepted(write_issue: WriteIssue, settings: Settings) -> None:
    # Some Windows editors start UTF-8 files with a BOM.
    toml = MINIMAL.replace('body = "Something happened. Then more happened."', 'file = "a.md"')
    folder = write_issue("", **{"a.md": "\ufeffFrom a BOM file."})
    (folder / "issue.toml").write_bytes(b"\xef\xbb\xbf" + toml.encode("utf-8"))
    issue = load_issue(folder, settings)
    assert issue.features()[0].body == "From a BOM file."


@pytest.mark.parametrize(
    "brk",
    [
        "\\r\\n",
        "\\n",
        "\\r",
        "\\u2028",
        "\\u2029",
        "\\u0085",
        "\\u000b",
        "\\f",
        "\\u001c",
        "\\u001d",
        "\\u001e",
        "\\u0007",
    ],
)
def test_line_breaks_and_controls_in_header_text_are_refused(
    write_issue: WriteIssue, settings: Settings, brk: str
) -> None:
    # TOML escapes, so the file itself stays one line per key.
    evil = f"Hi{brk}Bcc: x@evil.example"
    text = (
        MINIMAL.replace('preheader = "The week in brief."', f'preheader = "{evil}"')
        .replace('name = "Test Letter"', f'name = "{evil}"\nfrom_name = "{evil}"')
        .replace('title = "Weekly"', f'title = "{evil}"\nsubject = "{evil}"')
    )
    found = problems_of(write_issue(text), settings)
    for path in ("title", "subject", "preheader", "newsletter.name", "newsletter.from_name"):
        assert found[path].startswith("must be one line of text: holds a")
        assert "at character 3" in found[path]


def test_an_encoded_word_look_alike_subject_passes_check_as_text(
    write_issue: WriteIssue, settings: Settings
) -> None:
    # Not refused: it is carried as literal text (see tests/deliver/test_deliver_mime.py).
    folder = write_issue(
        MINIMAL.replace(
            'title = "Weekly"',
            'title = "Weekly"\nsubject = "=?utf-8?q?A=0D=0ABcc:_x@evil.example?="',
        )
    )
    assert check_issue(folder, settings) == []
    assert load_issue(folder, settings).subject_line == "=?utf-8?q?A=0D=0ABcc:_x@evil.example?="
