"""Time expressions in questions, resolved against an "as of" date into a range of
publication dates: "yesterday", "last week", "this month", "in March", "in 2022",
"since June", "in the past 3 days", "2 weeks ago", "between March and May", ... and
"latest/current/now/recently", which keep every date but put newer reports first.

Rules, not a library: dateparser resolves "last week" to a single instant, not to a week,
and guesses on bare numbers; these rules are few, tested one by one (tests/test_timeparse.py)
and only fire on explicit wording ("in March", not "by March 20", which asks about an
event, not about when articles were published)."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from ..types import TimeRange

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "couple of": 2}

_MON = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_MON2 = r"(?P<mon2>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUM = r"(?P<num>\d{1,3}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"
# without "a"/"an": "last a year" is about durability, not about when articles appeared
_NUM_STRICT = r"(?P<num>\d{1,3}|" + "|".join(sorted(set(NUMBERS) - {"a", "an"}, key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>day|week|month|year)s?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_ISO = r"(?P<iso>(?:19|20)\d{2}-\d{2}-\d{2})"
_LATEST = re.compile(r"\b(latest|newest|most recent(?:ly)?|recently|lately|current(?:ly)?|now|nowadays|these days|"
                     r"at (?:the )?(?:moment|present)|up[- ]to[- ]date)\b", re.I)


@dataclass(frozen=True)
class Parsed:
    range: TimeRange | None  # None: the question says nothing about time
    cleaned: str  # the question without the time words (what retrieval searches for)
    # relative to as-of ("last week"): when no article falls in it, the answer says so.
    # Absolute ("in 2017", "in March") may name when something happened rather than when it
    # was reported: when no article falls in it, every article is searched (and the answer says so).
    relative: bool = False


def _month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def _shift_month(y: int, m: int, k: int) -> tuple[int, int]:
    i = y * 12 + (m - 1) + k
    return i // 12, i % 12 + 1


def _num(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else NUMBERS[text]


def _past_month(mon: int, as_of: dt.date, year: int | None) -> int:
    """The year of the latest ``mon`` not after ``as_of`` (or ``year`` when given)."""
    if year is not None:
        return year
    return as_of.year if mon <= as_of.month else as_of.year - 1


def _rules(as_of: dt.date):
    """(pattern, function(match) -> (start, end)) in priority order."""
    t = as_of
    monday = t - dt.timedelta(days=t.weekday())

    def rng(a, b):
        return a, b

    def between(m):
        y1 = _past_month(MONTHS[m["mon"].lower()], t, int(m["year"]) if m["year"] else None)
        y2 = int(m["year2"]) if m["year2"] else (y1 if MONTHS[m["mon2"].lower()] >= MONTHS[m["mon"].lower()] else y1 + 1)
        if m["year2"] and not m["year"]:
            y1 = y2 if MONTHS[m["mon"].lower()] <= MONTHS[m["mon2"].lower()] else y2 - 1
        return dt.date(y1, MONTHS[m["mon"].lower()], 1), _month_end(y2, MONTHS[m["mon2"].lower()])

    def last_n(m):
        n, unit = _num(m["num"]), m["unit"].lower()
        if unit == "day":
            return t - dt.timedelta(days=n - 1), t
        if unit == "week":
            return t - dt.timedelta(days=7 * n - 1), t
        if unit == "month":
            y, mo = _shift_month(t.year, t.month, -n)
            day = min(t.day, calendar.monthrange(y, mo)[1])
            return dt.date(y, mo, day) + dt.timedelta(days=1), t
        return dt.date(t.year - n, t.month, min(t.day, 28)) + dt.timedelta(days=1), t

    def ago(m):
        n, unit = _num(m["num"]), m["unit"].lower()
        if unit == "day":
            d = t - dt.timedelta(days=n)
            return d, d
        if unit == "week":
            start = monday - dt.timedelta(days=7 * n)
            return start, start + dt.timedelta(days=6)
        if unit == "month":
            y, mo = _shift_month(t.year, t.month, -n)
            return dt.date(y, mo, 1), _month_end(y, mo)
        return dt.date(t.year - n, 1, 1), dt.date(t.year - n, 12, 31)

    def month_in(m):
        mon = MONTHS[m["mon"].lower()]
        y = _past_month(mon, t, int(m["year"]) if m["year"] else None)
        return dt.date(y, mon, 1), _month_end(y, mon)

    def since_month(m):
        mon = MONTHS[m["mon"].lower()]
        y = _past_month(mon, t, int(m["year"]) if m["year"] else None)
        day = int(m["day"]) if m["day"] else 1
        return dt.date(y, mon, day), t

    def on_day(m):
        mon = MONTHS[m["mon"].lower()]
        day = int(m["day"])
        y = int(m["year"]) if m["year"] else (t.year if (mon, day) <= (t.month, t.day) else t.year - 1)
        d = dt.date(y, mon, day)
        return d, d

    def weekday(m):
        wd = WEEKDAYS[m["wd"].lower()]
        d = t - dt.timedelta(days=(t.weekday() - wd) % 7 or 7)
        return d, d

    def iso(m):
        d = dt.date.fromisoformat(m["iso"])
        if m["pre"] and m["pre"].lower() in ("since", "after"):
            return d, t
        if m["pre"] and m["pre"].lower() in ("before", "until"):
            return None, d - dt.timedelta(days=1) if m["pre"].lower() == "before" else d
        return d, d

    def before(m):
        if m["mon"]:
            mon = MONTHS[m["mon"].lower()]
            y = _past_month(mon, t, int(m["year"]) if m["year"] else None)
            first = dt.date(y, mon, 1)
        else:
            first = dt.date(int(m["y2"]), 1, 1)
        return None, first - dt.timedelta(days=1)

    def since_year(m):
        return dt.date(int(m["year"]), 1, 1), t

    def year_in(m):
        return dt.date(int(m["year"]), 1, 1), dt.date(int(m["year"]), 12, 31)

    lw_start = lambda: monday - dt.timedelta(days=7)  # noqa: E731 - not computed for as-of dates near year 1
    lm = _shift_month(t.year, t.month, -1)
    day = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
    return [
        (rf"\b(?:between|from) {_MON}(?: {_YEAR})? (?:and|to|until|-) {_MON2}(?: (?P<year2>(?:19|20)\d{{2}}))?\b", between),
        (rf"\b(?:in|during|over|within) (?:the )?(?:last|past|previous) {_NUM_STRICT} {_UNIT}\b", last_n),
        (rf"\b(?:the )?(?:last|past|previous) {_NUM_STRICT} {_UNIT}\b", last_n),
        (rf"\b{_NUM} {_UNIT} ago\b", ago),
        (r"\b(?:the )?day before yesterday\b", lambda m: rng(t - dt.timedelta(days=2), t - dt.timedelta(days=2))),
        (r"\byesterday(?:'s)?\b", lambda m: rng(t - dt.timedelta(days=1), t - dt.timedelta(days=1))),
        (r"\b(?:today(?:'s)?|this morning|tonight)\b", lambda m: rng(t, t)),
        (r"\b(?:in |over |during )?the (?:past|last) week\b", lambda m: rng(t - dt.timedelta(days=6), t)),
        (r"\b(?:in |over |during )?the (?:past|last) month\b", lambda m: rng(t - dt.timedelta(days=29), t)),
        (r"\b(?:in |over |during )?the (?:past|last) year\b", lambda m: rng(t - dt.timedelta(days=364), t)),
        (r"\blast weekend\b", lambda m: rng(monday - dt.timedelta(days=2), monday - dt.timedelta(days=1))),
        (r"\bthis weekend\b", lambda m: rng(monday + dt.timedelta(days=5), monday + dt.timedelta(days=6))),
        (r"\b(?:last|previous) week(?:'s)?\b", lambda m: rng(lw_start(), lw_start() + dt.timedelta(days=6))),
        # in news "this week" is the last several days, not the calendar week: a Monday question
        # about a report from Friday means that report
        (r"\b(?:this|current) week(?:'s)?\b", lambda m: rng(t - dt.timedelta(days=6), t)),
        (r"\b(?:last|previous) month(?:'s)?\b", lambda m: rng(dt.date(lm[0], lm[1], 1), _month_end(*lm))),
        (r"\b(?:this|current) month(?:'s)?\b", lambda m: rng(dt.date(t.year, t.month, 1), t)),
        (r"\b(?:last|previous) year(?:'s)?\b", lambda m: rng(dt.date(t.year - 1, 1, 1), dt.date(t.year - 1, 12, 31))),
        (r"\b(?:(?:so far |earlier )?this year(?:'s)?|year to date)\b", lambda m: rng(dt.date(t.year, 1, 1), t)),
        (rf"\b(?P<pre>on|since|after|before|until) {_ISO}\b", iso),
        (rf"\b{_ISO}\b", iso),
        (rf"\bsince {_MON}(?: {day}\b)?(?:,? {_YEAR})?\b", since_month),
        (rf"\bsince {_YEAR}\b", since_year),
        (rf"\bbefore (?:{_MON}(?: {_YEAR})?|(?P<y2>(?:19|20)\d{{2}}))\b", before),
        (rf"\bon {_MON} {day}(?:,? {_YEAR})?\b", on_day),
        (r"\blast (?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", weekday),
        (rf"\b(?:in|during) (?:early |late |mid-?)?{_MON}(?:,? {_YEAR})?\b", month_in),
        (rf"\b(?:in|during) {_YEAR}\b", year_in),
    ]


_ABSOLUTE = {"between", "iso", "since_month", "before", "on_day", "month_in", "year_in", "since_year"}


def parse_time(question: str, as_of: dt.date) -> Parsed:
    """The publication-date range a question asks about (resolved against ``as_of``), and
    the question with those words removed. Ranges never end after ``as_of``."""
    for i, (pattern, fn) in enumerate(_rules(as_of)):
        m = re.search(pattern, question, re.I)
        if not m:
            continue
        try:
            start, end = fn(m)
        except (ValueError, KeyError, OverflowError):  # e.g. "on February 30", "before 0001-01-01"
            continue
        if end is not None and end > as_of:
            end = as_of
        cleaned = _clean(question[:m.start()] + question[m.end():])
        latest = bool(_LATEST.search(cleaned))
        return Parsed(TimeRange(start.isoformat() if start else None, end.isoformat() if end else None,
                                m.group(0).strip(), latest), cleaned, relative=fn.__name__ not in _ABSOLUTE)
    lm = _LATEST.search(question)
    if lm:
        return Parsed(TimeRange(None, None, lm.group(0), True), question)
    return Parsed(None, question)


def _clean(text: str) -> str:
    text = re.sub(r"\s+([?.!,])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


AS_OF_RANGE = (dt.date(2, 1, 1), dt.date(9998, 12, 31))  # time words move a year either way from it


def parse_as_of(value: str | dt.date | None, today: dt.date | None = None) -> dt.date:
    """The as-of date: ``value`` as YYYY-MM-DD, or today. Dates in the first or last year
    the calendar has are refused ("last week" would fall outside it)."""
    from ..errors import AssistantError

    if value is None or value == "":
        return today or dt.date.today()
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise AssistantError(f"as of date {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-09.")
    low, high = AS_OF_RANGE
    if not low <= day <= high:
        raise AssistantError(f"as of date {day.isoformat()} is out of range: use a date from {low.isoformat()} "
                             f"to {high.isoformat()}, e.g. 2026-03-09.")
    return day


def explicit_range(since: str | dt.date | None, until: str | dt.date | None) -> TimeRange | None:
    """The range set by ``--since/--until`` (or the page's settings), validated; None if neither."""
    from ..errors import AssistantError

    if not since and not until:
        return None
    days = []
    for name, value in (("since", since), ("until", until)):
        if not value:
            days.append(None)
            continue
        try:
            days.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip()))
        except ValueError:
            raise AssistantError(f"{name} date {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-09.")
    if days[0] and days[1] and days[0] > days[1]:
        raise AssistantError(f"since ({days[0]}) is after until ({days[1]}): swap them.")
    return TimeRange(days[0].isoformat() if days[0] else None, days[1].isoformat() if days[1] else None,
                     "since/until")
