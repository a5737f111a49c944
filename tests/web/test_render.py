"""render: article text, quotes and questions are always escaped; highlights sit exactly
on the quoted characters; [n] markers link to their source cards."""
from __future__ import annotations

import re
from html import unescape

from assistant.web.render import (
    Turn,
    highlight,
    passage_around,
    render_answer,
    render_conversation,
    render_marker_text,
    render_question,
    render_source_card,
)
from assistant.types import Answer, Article, Chunk, Citation, Hit

EVIL = 'He said "<script>alert(1)</script>" & <img src=x onerror=alert(2)> it\'s {{x}} ${y}.'
TEXT = (
    "First paragraph, unrelated.\n\n"
    f"The source said: {EVIL} Musan Mine has over 20,000 employees and more.\n\n"
    "Last paragraph <b>bold?</b>"
)
ART = Article("musan", "Musan <mine> & \"co\"", TEXT)
QUOTE = "Musan Mine has over 20,000 employees"
START = TEXT.index(QUOTE)
CITE = Citation(1, "musan", ART.title, QUOTE, START, START + len(QUOTE), 0.7)


def _no_markup_from_text(html: str) -> None:
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def _tags(html: str) -> set[str]:
    return set(re.findall(r"<\s*([a-zA-Z]+)", html))


def test_highlight_marks_exact_span_and_escapes():
    html = highlight(EVIL + QUOTE, len(EVIL), len(EVIL) + len(QUOTE))
    assert html.count("<mark>") == 1
    assert unescape(re.search(r"<mark>(.*?)</mark>", html).group(1)) == QUOTE
    assert unescape(html.replace("<mark>", "").replace("</mark>", "")) == EVIL + QUOTE
    assert _tags(html) == {"mark"}


def test_highlight_marks_markup_looking_quote_as_text():
    text = "a <script>x</script> b"
    html = highlight(text, 2, 20)
    assert html == "a <mark>&lt;script&gt;x&lt;/script&gt;</mark> b"


def test_passage_around_stays_in_paragraph_and_contains_quote():
    a, b = passage_around(TEXT, CITE.start, CITE.end)
    assert a <= CITE.start and CITE.end <= b
    assert "\n" not in TEXT[a:b]
    assert TEXT[a:b].startswith("The source said")
    a, b = passage_around(TEXT, CITE.start, CITE.end, context=10)
    assert CITE.start - a <= 10 and b - CITE.end <= 10 and TEXT[a:b].strip() == TEXT[a:b]


def test_source_card_escapes_article_and_marks_quote():
    html = render_source_card(CITE, ART, "3")
    _no_markup_from_text(html)
    assert 'id="src-3-1"' in html
    marks = re.findall(r"<mark>(.*?)</mark>", html)
    assert [unescape(m) for m in marks] == [QUOTE, QUOTE]  # passage and whole article
    assert "Musan &lt;mine&gt; &amp; &quot;co&quot;" in html
    whole = re.search(r'<div class="article-text">(.*?)</div></details>', html, re.S).group(1)
    # the whole article keeps its paragraphs: one <p> per non-blank line, text otherwise verbatim
    paras = [unescape(p.replace("<mark>", "").replace("</mark>", "")) for p in re.findall(r"<p>(.*?)</p>", whole, re.S)]
    assert paras == [line for line in TEXT.split("\n") if line.strip()]
    assert _tags(html) <= {"div", "span", "mark", "details", "summary", "p"}


def test_source_card_without_verifiable_article_shows_quote_only():
    html = render_source_card(CITE, None, "1")
    assert "<mark>" + QUOTE + "</mark>" in html and "<details" not in html


def test_markers_link_to_cards_and_unknown_markers_stay_text():
    cite = Citation(1, "musan", "T<i>", 'say "<b>"', 0, 1, 0.5)
    html = render_marker_text("Fact <u>x</u> [1] and [7].", [cite], "2")
    assert '<a class="cite" href="#src-2-1"' in html and "[7]" in html and "#src-2-7" not in html
    assert "&lt;u&gt;x&lt;/u&gt;" in html and "<b>" not in html and "<i>" not in html
    title = re.search(r'title="([^"]*)"', html).group(1)
    assert unescape(title) == 'T<i>: “say "<b>"”'


def test_answer_and_abstention_look_different():
    ok = Answer("q", "q (Musan)", f"{QUOTE} [1].", False, (CITE,), ())
    hit = Hit(Chunk("musan", 0, len(TEXT), TEXT), ART.title, 0.3, 1)
    no = Answer("capital of France?", "capital of France?", "The articles do not say.", True, (), (hit,))
    ok_html = render_answer(ok, {"musan": ART}, "1")
    no_html = render_answer(no, {"musan": ART}, "2")
    assert 'class="bot answer"' in ok_html and "Searched for: q (Musan)" in ok_html
    assert 'class="bot abstain"' in no_html and "Not in the articles" in no_html
    assert "Related passages" in no_html and "<mark>" not in no_html and "Searched for" not in no_html
    _no_markup_from_text(no_html)


def test_conversation_escapes_questions_and_shortens_long_ones():
    turns = [
        Turn("<script>alert(1)</script>", notice="The question is empty."),
        Turn("x" * 100_000, notice="Too long <b>."),
        Turn("   ", notice="empty"),
    ]
    html = render_conversation(turns, {})
    _no_markup_from_text(html)
    assert "&lt;b&gt;" in html and len(html) < 5_000
    assert html.count('class="turn"') == 3 and "(empty question)" in html
    assert render_question("a\nb") == '<div class="user">a\nb</div>'
    assert "Ask a question" in render_conversation([], {})


def test_card_shows_date_source_author_and_http_link_escaped():
    from dataclasses import replace

    c = replace(CITE, date="2026-03-09", source='Wire <b>"x"</b>', author="Kim & Lee",
                url='https://example.org/a?b=1&c="2"')
    html = render_source_card(c, ART, "1")
    assert '<time class="src-date" datetime="2026-03-09">2026-03-09</time>' in html
    assert "Wire &lt;b&gt;&quot;x&quot;&lt;/b&gt;" in html and "<b>" not in html.split("passage")[0]
    assert "by Kim &amp; Lee" in html
    # a URL with a quote in it is not http(s)-safe: no link at all
    assert 'class="src-url"' not in html
    ok = render_source_card(replace(c, url="https://example.org/a?b=1&c=2"), ART, "1")
    assert 'href="https://example.org/a?b=1&amp;c=2"' in ok and 'rel="noopener noreferrer"' in ok
    bad = render_source_card(replace(c, url="javascript:alert(1)"), ART, "1")
    assert "javascript:" not in bad


def test_card_marks_earlier_report_and_lists_copies():
    from dataclasses import replace

    from assistant.types import Report

    c = replace(CITE, date="2026-03-02", earlier_report=True,
                also_reported_by=(Report("wire/copy", "Copy <t>", "2026-03-03", "Coast Post", "https://cp.org/x"),))
    html = render_source_card(c, ART, "1")
    assert "earlier report (2026-03-02)" in html and 'class="src-card earlier"' in html
    assert "Also reported by" in html and "Coast Post, 2026-03-03" in html and 'href="https://cp.org/x"' in html


def test_only_the_latest_turn_carries_whole_articles():
    """40 answered turns citing a long article: the page grows by a card per turn, not by
    the article; earlier turns keep a lazy "Open the whole article" (id and offsets only)."""
    from dataclasses import replace as dc_replace

    long_text = TEXT + " filler words" * 20_000  # ~260 KB
    art = dc_replace(ART, text=long_text)
    answer = Answer("q", "q", f"{QUOTE} [1].", False, (CITE,), ())
    turns = [Turn("q", answer=answer)] * 40
    html = render_conversation(turns, {"musan": art})
    assert len(html) < 2 * len(long_text)  # the article once, not 40 times
    assert html.count("filler words") == 20_000  # only in the latest turn
    assert html.count("Open the whole article") == 40
    assert html.count('data-lazy="1"') == 39
    lazy = re.search(r'<details class="whole" data-doc="([^"]+)" data-start="(\d+)" data-end="(\d+)" data-spans="([^"]+)">', html)
    assert lazy.groups() == ("musan", str(CITE.start), str(CITE.end), f"{CITE.start}-{CITE.end}")
    # what the page fetches for a lazy one is the same highlighted article
    from assistant.web.render import render_whole_article

    fetched = render_whole_article(art, CITE.start, CITE.end)
    assert f'<div class="article-text">{fetched}</div>' in html
    assert render_whole_article(None, 0, 5) == ""
def test_the_answering_part_is_marked_in_the_answer_and_the_card():
    text = "The council approved the tram line. It will cost <$412 million>, officials said.\n"
    a = text.index("It will")
    b = text.index("said.") + len("said.")
    s = text.index("<$412")
    quote = text[a:b]
    c = Citation(1, "tram", "Tram", quote, a, b, 0.9, answer_span=(s, s + len("<$412 million>")))
    answer = Answer("How much?", "How much?", f"{quote} [1]", False, (c,))
    html = render_answer(answer, {"tram": Article("tram", "Tram", text)}, "1")
    part = '<strong class="answer-part">&lt;$412 million&gt;</strong>'
    assert html.count(part) >= 2  # in the answer text and the card's passage
    assert "<$412" not in html


def test_two_quotes_from_one_passage_share_one_card_with_both_highlighted():
    text = ("Intro line.\n\nThe vote was 31 to 12. Twelve councillors voted against the budget, "
            "which adds £2.1bn of spending. It passed after midnight.\n\nAnother paragraph far away.")
    art = Article("budget", "Budget passes", text)
    q1, q2 = "The vote was 31 to 12.", "It passed after midnight."
    c1 = Citation(1, "budget", "Budget passes", q1, text.index(q1), text.index(q1) + len(q1), 0.9)
    c2 = Citation(2, "budget", "Budget passes", q2, text.index(q2), text.index(q2) + len(q2), 0.8)
    far = "Another paragraph far away."
    c3 = Citation(3, "budget", "Budget passes", far, text.index(far), text.index(far) + len(far), 0.5)
    answer = Answer("q", "q", f"{q1} [1] {q2} [2] {far} [3]", False, (c1, c2, c3), ())
    html = render_answer(answer, {"budget": art}, "4")
    assert html.count('class="src-card') == 2  # one card for the paragraph, one for the other
    first = html[html.index('id="src-4-1"'):html.index('id="src-4-3"')]
    assert "[1]" in first and "[2]" in first
    assert first.count("<mark>") >= 2 + 2  # both quotes in the passage and in the whole article
    assert f"<mark>{q1}</mark>" in first and f"<mark>{q2}</mark>" in first
    assert first.count("The vote was 31 to 12.") == 2  # the passage once, the whole article once
    # both markers point at the shared card; [3] at its own
    assert 'href="#src-4-1" data-n="1"' in html and 'href="#src-4-1" data-n="2"' in html
    assert 'href="#src-4-3" data-n="3"' in html and 'id="src-4-2"' not in html


def test_library_list_is_readable_and_escaped():
    from assistant.web.render import render_library

    html = render_library([["Storm <hits> coast", "2026-03-01", "Coast Post", "storm-1", ""],
                           ["Copy", "", "", "wire/copy", "copy of storm-1 (not searched)"]])
    assert "1 article and 1 collapsed copy" in html and "Storm &lt;hits&gt; coast" in html and "<hits>" not in html
    assert "2026-03-01 · Coast Post · <span class=\"lib-id\">storm-1</span>" in html
    assert "copy of storm-1 (not searched)" in html
    assert "No articles yet" in render_library([])
