"""Teasers: a prefix of the body's prose, cut at a sentence end, never inside a word."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.content import markdown
from mailer.content.teaser import ends_sentence, excerpt

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäé’-0123456789", min_size=1, max_size=12)
PUNCT = st.sampled_from(["", "", "", ",", ".", "!", "?", ".”", "…", ";"])
TOKEN = st.builds(lambda w, p: w + p, WORD, PUNCT)
PARAGRAPH = st.lists(TOKEN, min_size=1, max_size=80).map(" ".join)
PARAGRAPHS = st.lists(PARAGRAPH, min_size=1, max_size=5)


def words(paragraphs: list[str]) -> list[str]:
    return " ".join(paragraphs).split()


def sentences(paragraphs: list[str]) -> list[list[str]]:
    """The body's sentences as word lists, by the same rule (and paragraph ends)."""
    out: list[list[str]] = []
    for para in paragraphs:
        current: list[str] = []
        for word in para.split():
            current.append(word)
            if ends_sentence(word):
                out.append(current)
                current = []
        if current:
            out.append(current)
    return out


@settings(max_examples=300, deadline=None)
@given(PARAGRAPHS, st.integers(min_value=5, max_value=80))
def test_teaser_is_a_prefix_of_the_body_in_whole_words(paragraphs: list[str], budget: int) -> None:
    cut = excerpt(paragraphs, budget)
    body, teaser = words(paragraphs), words(cut.paragraphs)
    assert teaser, "a teaser is never empty"
    # Prefix up to whitespace: the same words, in order, none of them split.
    assert body[: len(teaser)] == teaser
    assert cut.complete == (len(teaser) == len(body))


@settings(max_examples=300, deadline=None)
@given(PARAGRAPHS, st.integers(min_value=5, max_value=80))
def test_teaser_respects_the_budget_plus_at_most_one_sentence(
    paragraphs: list[str], budget: int
) -> None:
    cut = excerpt(paragraphs, budget)
    teaser = words(cut.paragraphs)
    if cut.mid_sentence:
        # Only when even the first sentence is far too long, and then exactly the budget.
        assert len(teaser) == budget
        assert len(sentences(paragraphs)[0]) > 2 * budget
        return
    # Ends where a sentence (or paragraph) ends ...
    ends = set()
    count = 0
    for sentence in sentences(paragraphs):
        count += len(sentence)
        ends.add(count)
    assert len(teaser) in ends
    # ... within the budget, or overshooting by the one sentence it could not drop.
    if len(teaser) > budget:
        assert len(teaser) == len(sentences(paragraphs)[0])


@settings(max_examples=200, deadline=None)
@given(PARAGRAPHS, st.integers(min_value=5, max_value=80))
def test_teaser_is_the_longest_fitting_run(paragraphs: list[str], budget: int) -> None:
    cut = excerpt(paragraphs, budget)
    teaser = words(cut.paragraphs)
    if cut.complete or cut.mid_sentence or len(teaser) > budget:
        return
    # Adding the next sentence would break the budget.
    count = 0
    for sentence in sentences(paragraphs):
        count += len(sentence)
        if count > len(teaser):
            assert count > budget
            break


@settings(max_examples=100, deadline=None)
@given(PARAGRAPHS, st.integers(min_value=5, max_value=80))
def test_teaser_from_markdown_never_leaves_markup(paragraphs: list[str], budget: int) -> None:
    source = "\n\n".join(f"**{p}** [link](https://example.org/x)" for p in paragraphs)
    cut = excerpt(markdown.blocks(source), budget)
    text = cut.text
    assert "**" not in text and "](" not in text and "<" not in text
    assert words(markdown.blocks(source))[: len(text.split())] == text.split()


def test_cut_at_the_last_sentence_that_fits() -> None:
    body = ["One two three. Four five six seven. Eight nine ten eleven twelve."]
    cut = excerpt(body, 8)
    assert cut.paragraphs == ["One two three. Four five six seven."]
    assert not cut.complete and not cut.mid_sentence


def test_abbreviations_do_not_end_sentences() -> None:
    body = ["Dr. Zhu found a small tumour. It was removed."]
    assert excerpt(body, 6).paragraphs == ["Dr. Zhu found a small tumour."]
    assert ends_sentence("U.S.")
    assert not ends_sentence("Dr.") and not ends_sentence("e.g.") and not ends_sentence("J.")
    assert ends_sentence("sky.”") and ends_sentence("now!") and not ends_sentence("3,5")


def test_paragraph_ends_are_boundaries() -> None:
    cut = excerpt(["A heading-like line without stop", "Second paragraph is long enough here."], 7)
    assert cut.paragraphs == ["A heading-like line without stop"]


def test_first_sentence_longer_than_budget() -> None:
    long_sentence = " ".join(["word"] * 15) + "."
    assert excerpt([long_sentence + " Next."], 10).paragraphs == [long_sentence]
    endless = " ".join(["word"] * 50)
    cut = excerpt([endless], 10)
    assert cut.mid_sentence and cut.text == " ".join(["word"] * 10)


def test_whole_body_within_budget() -> None:
    cut = excerpt(["Short.", "Also short."], 60)
    assert cut.complete and cut.paragraphs == ["Short.", "Also short."]
