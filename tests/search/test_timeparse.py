"""Time expressions resolved against a fixed as-of date (Wednesday 2026-03-11)."""
import datetime as dt

import pytest

from assistant.search.timeparse import parse_as_of, parse_time

AS_OF = dt.date(2026, 3, 11)  # a Wednesday

CASES = [  # question, start, end, latest, relative
    ("What happened yesterday?", "2026-03-10", "2026-03-10", False, True),
    ("What happened the day before yesterday?", "2026-03-09", "2026-03-09", False, True),
    ("What happened today?", "2026-03-11", "2026-03-11", False, True),
    ("What happened last week?", "2026-03-02", "2026-03-08", False, True),
    ("What was reported this week?", "2026-03-05", "2026-03-11", False, True),  # the last 7 days
    ("Any news in the past week?", "2026-03-05", "2026-03-11", False, True),
    ("What did they say over the last month?", "2026-02-10", "2026-03-11", False, True),
    ("What happened last month?", "2026-02-01", "2026-02-28", False, True),
    ("What happened this month?", "2026-03-01", "2026-03-11", False, True),
    ("What happened last year?", "2025-01-01", "2025-12-31", False, True),
    ("What happened this year?", "2026-01-01", "2026-03-11", False, True),
    ("What was reported so far this year?", "2026-01-01", "2026-03-11", False, True),
    ("What happened in the last 3 days?", "2026-03-09", "2026-03-11", False, True),
    ("What happened in the past two weeks?", "2026-02-26", "2026-03-11", False, True),
    ("Any reports over the last 6 months?", "2025-09-12", "2026-03-11", False, True),
    ("What happened 3 days ago?", "2026-03-08", "2026-03-08", False, True),
    ("What happened two weeks ago?", "2026-02-23", "2026-03-01", False, True),
    ("What happened a month ago?", "2026-02-01", "2026-02-28", False, True),
    ("What happened last weekend?", "2026-03-07", "2026-03-08", False, True),
    ("What happened last Monday?", "2026-03-09", "2026-03-09", False, True),
    ("What happened last Wednesday?", "2026-03-04", "2026-03-04", False, True),
    ("What happened in March?", "2026-03-01", "2026-03-11", False, False),
    ("What happened in May?", "2025-05-01", "2025-05-31", False, False),
    ("What happened in early February?", "2026-02-01", "2026-02-28", False, False),
    ("What happened in March 2022?", "2022-03-01", "2022-03-31", False, False),
    ("What happened in Sept. 2021?", "2021-09-01", "2021-09-30", False, False),
    ("What happened in 2022?", "2022-01-01", "2022-12-31", False, False),
    ("What was reported during 2020?", "2020-01-01", "2020-12-31", False, False),
    ("What changed since June?", "2025-06-01", "2026-03-11", False, False),
    ("What changed since January 15?", "2026-01-15", "2026-03-11", False, False),
    ("What changed since 2024?", "2024-01-01", "2026-03-11", False, False),
    ("What was reported before 2021?", None, "2020-12-31", False, False),
    ("What was reported before May 2021?", None, "2021-04-30", False, False),
    ("What happened on March 2?", "2026-03-02", "2026-03-02", False, False),
    ("What happened on December 24?", "2025-12-24", "2025-12-24", False, False),
    ("What was published on 2026-03-02?", "2026-03-02", "2026-03-02", False, False),
    ("What was published since 2026-03-02?", "2026-03-02", "2026-03-11", False, False),
    ("What happened between January and February?", "2026-01-01", "2026-02-28", False, False),
    ("What happened between November and February?", "2025-11-01", "2026-02-28", False, False),
    ("What is the latest cost estimate this month?", "2026-03-01", "2026-03-11", True, True),
]


@pytest.mark.parametrize("question, start, end, latest, relative", CASES)
def test_expression_resolves_to_range(question, start, end, latest, relative):
    p = parse_time(question, AS_OF)
    assert p.range is not None, question
    assert (p.range.start, p.range.end, p.range.latest, p.relative) == (start, end, latest, relative)
    assert p.range.expression.lower() in question.lower()
    assert p.range.expression not in p.cleaned


@pytest.mark.parametrize("question", [
    "What is the latest cost estimate?", "What is the current estimate?", "Who runs the mine now?",
    "What happened recently?", "How is the mine doing these days?", "What is the most recent figure?",
])
def test_latest_words_order_newest_first_without_filtering(question):
    p = parse_time(question, AS_OF)
    assert p.range is not None and p.range.latest
    assert (p.range.start, p.range.end) == (None, None)


@pytest.mark.parametrize("question", [
    "How many people work at Musan Mine?",
    "How many reserve coal mines did state media say had been set up by March 20?",  # an event date
    "Do newly built drilling machines at least last a year?",  # durability, not time of report
    "Who won the 2018 FIFA World Cup?",  # a bare year names an event
    "What is the lowest monthly pay of an ordinary worker?",
    "What did the source tell Daily NK on Wednesday?",
    "What may happen next?",
])
def test_no_time_expression(question):
    p = parse_time(question, AS_OF)
    assert p.range is None and p.cleaned == question


def test_range_never_ends_after_as_of_and_cleaned_question():
    p = parse_time("What happened this week?", AS_OF)
    assert p.range.end == "2026-03-11" and p.cleaned == "What happened?"


def test_as_of_parsing():
    assert parse_as_of("2026-03-09") == dt.date(2026, 3, 9)
    assert parse_as_of(None, today=AS_OF) == AS_OF
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="YYYY-MM-DD"):
        parse_as_of("next tuesday")


@pytest.mark.parametrize("as_of", [dt.date(2, 1, 1), dt.date(2, 1, 3), dt.date(9998, 12, 31)])
@pytest.mark.parametrize("question", [
    "What happened last week?", "this weekend", "in the last 3 years", "2 weeks ago", "last month", "last year",
    "the past year", "before 0001-01-01", "after 9999-12-31", "since 0001-01-01", "before January", "last monday",
    "in the last 9999 years", "5000 years ago", "the day before yesterday", "between March and February",
])
def test_time_words_near_the_ends_of_the_calendar_never_raise(as_of, question):
    parse_time(question, as_of)  # a range that would leave the calendar is no range


@pytest.mark.parametrize("value", ["0001-01-01", "0001-01-07", "9999-12-31", dt.date(1, 1, 3)])
def test_as_of_outside_the_supported_range_is_refused(value):
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="out of range: use a date from 0002-01-01 to 9998-12-31"):
        parse_as_of(value)
