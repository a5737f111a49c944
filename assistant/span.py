"""Mark the part of a quoted sentence that answers the question: the amount for "how
much", the date for "when", the name for "who", the place for "where". Only where the
question's type is clear; the quote itself is never changed (offsets into it)."""
from __future__ import annotations

import re

from .features import question_type
from .lexical import terms

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
_NUM = r"(?:\d[\d,]*(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a few|several|dozens of|hundreds of|thousands of)"
_SCALE = r"(?:\s?(?:hundred|thousand|million|billion|trillion|bn|m|k))?"
_CURRENCY = r"(?:\$|US\$|€|£|¥|₩|KPW|KRW|USD|EUR|GBP|CNY|yuan|won|RMB)"
_AMOUNT = re.compile(
    rf"(?:(?:more|less|fewer) than |over |under |about |around |nearly |almost |up to |at least |some |roughly |approximately )?"
    rf"(?:{_CURRENCY}\s?{_NUM}{_SCALE}|{_NUM}{_SCALE}\s?(?:%|percent|per cent|{_CURRENCY})"
    rf"|{_NUM}{_SCALE}(?:\s(?:of\s(?:the\s)?)?[a-z]+(?:\s(?:per|a)\s[a-z]+)?)?)",
    re.I,
)
_DATE = re.compile(
    rf"\b(?:(?:on |in |at |by |since |until |from )?(?:the )?(?:(?:early|mid|late|end of|beginning of|start of)[ -])?"
    rf"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),? )?"
    rf"(?:\d{{1,2}} )?{_MONTH}(?: \d{{1,2}}(?:st|nd|rd|th)?)?(?:,? \d{{4}})?"
    rf"|(?:in |since |by |until )?(?:the )?(?:early |mid-|late )?(?:1[0-9]|20)\d\d(?:s)?"
    rf"|\d{{1,2}}(?:st|nd|rd|th) century"
    rf"|(?:on |last |next |this )?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|week|month|year)"
    rf"|yesterday|today|tomorrow|recently)\b",
    re.I,
)
_NAME = re.compile(r"\b(?:[A-Z][\w’'.-]*|of|the|de|von|van|al|bin)(?:\s+(?:[A-Z][\w’'.-]*|of|the|de|von|van|al|bin))*")
_PLACE = re.compile(r"\b(?:in|at|near|from|into|across|outside|inside|located in)\s+((?:the\s+)?[A-Z][\w’'-]*(?:[\s,]+(?:of\s+)?[A-Z][\w’'-]*)*)")
_LEAD_STOP = {"the", "of", "de", "von", "van", "al", "bin", "a", "an", "in", "on", "at"}


def answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` of the answering part of ``sentence``, or None when the question's
    type is unclear or nothing of that type is found. Prefers a match that does not
    repeat the question's own words."""
    qtype = question_type(question)
    q_terms = set(terms(question))
    if qtype == "amount" and re.search(r"\bhow (much|many)\b|\bwhat (percentage|percent|number|amount|share)\b", question, re.I):
        found = [m.span() for m in _AMOUNT.finditer(sentence) if re.search(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|few|several|dozens|hundreds|thousands)\b", m.group(), re.I)]
    elif qtype == "when":
        found = [m.span() for m in _DATE.finditer(sentence)]
    elif qtype == "who":
        found = [_trim_name(sentence, m.start(), m.end()) for m in _NAME.finditer(sentence)]
        found = [s for s in found if s and s[0] > 0 or (s and not _first_word_generic(sentence))]
    elif qtype == "where":
        found = [m.span(1) for m in _PLACE.finditer(sentence)]
    else:
        return None
    best = None
    for a, b in (s for s in found if s):
        piece = sentence[a:b]
        new = [t for t in terms(piece) if t not in q_terms]
        if qtype in ("who", "where") and not new:
            continue  # the question's own name is not the answer
        score = (len(new) > 0, -a)
        if best is None or score > best[0]:
            best = (score, (a, b))
    return best[1] if best else None


def _trim_name(sentence: str, a: int, b: int) -> tuple[int, int] | None:
    words = list(re.finditer(r"\S+", sentence[a:b]))
    while words and words[0].group().lower().strip(".,") in _LEAD_STOP:
        words.pop(0)
    while words and words[-1].group().lower().strip(".,") in _LEAD_STOP:
        words.pop()
    if not words:
        return None
    s, e = a + words[0].start(), a + words[-1].end()
    while e > s and sentence[e - 1] in ".,;:’'":
        e -= 1
    return (s, e) if e > s else None


def _first_word_generic(sentence: str) -> bool:
    first = sentence.split(" ", 1)[0].lower()
    return first in {"the", "a", "an", "in", "on", "at", "but", "and", "this", "that", "it", "he", "she", "they"}
