"""Mark the part of a quoted sentence that answers the question: the amount for "how
much", the date for "when", the name for "who", the place for "where". Only where the
question's type is clear; the quote itself is never changed (offsets into it)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..terms import answer_terms as terms
from .question import question_type

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
_PLACE_NOUN = r"(?:library|hall|centre|center|station|airport|port|harbour|harbor|district|province|county|region|state|city|town|village|island|river|valley|mountains?|street|road|square|park|stadium|school|university|college|hospital|church|cathedral|palace|museum|mine|plant|works|factory|border|coast|bay|lake|office|building|court|prison|camp|base)"
_PLACE = re.compile(r"\b(?:in|at|near|from|into|across|outside|inside|located in|based in|held at|to)\s+((?:the\s+)?(?:[a-z]+(?:ing|ern|ed)\s+)?[A-Z][\w’'-]*(?:[\s,]+(?:of\s+)?[A-Z][\w’'-]*)*(?:\s+" + _PLACE_NOUN + r")?)\b")
_LEAD_STOP = {"the", "of", "de", "von", "van", "al", "bin", "a", "an", "in", "on", "at"}


_DATE_WORD = re.compile(rf"^(?:{_MONTH}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)$", re.I)
_YEAR_ONLY = re.compile(r"^(?:in |since |by |until |from )?(?:1[0-9]|20)\d\d$")
_MEASURE = re.compile(
    rf"(?:(?:more|less) than |over |under |about |around |nearly |almost |up to |at least |some |roughly |approximately )?"
    rf"{_NUM}(?:[ -](?:and a half|half))?[ -](?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|"
    rf"kilomet(?:re|er)s?|km|miles?|met(?:re|er)s?|m|feet|foot|ft|inches|centimet(?:re|er)s?|cm|kilograms?|kg|tonnes?|tons?|pounds?|lb|"
    rf"litres?|liters?|gallons?|hectares?|acres?|square (?:kilomet(?:re|er)s?|miles?|met(?:re|er)s?|feet)|storeys?|stories|floors?)\b"
    rf"(?: (?:long|old|tall|high|wide|deep|away|per \w+|a \w+))?",
    re.I,
)
_MONEY_Q = re.compile(r"\b(cost|costs|price|pay|paid|spend|spent|worth|budget|money|fund\w*|salary|wages?|fee|fine|earn\w*|revenue|profit|debt|loan|invest\w*|charge\w*|bill|bills|sum|dollars?|pounds|euros|won|yuan)\b", re.I)
_PERCENT_Q = re.compile(r"\b(percent|percentage|per cent|rate|share|proportion|%)\b", re.I)
_NUMBER_WORD = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
                          r"forty|fifty|sixty|seventy|eighty|ninety|hundred|few|several|dozens|hundreds|thousands)\b", re.I)
_WORD_RE = re.compile(r"[\w’'$€£¥₩%.,-]+")


@dataclass(frozen=True)
class Mark:
    """What ``mark`` found: the answering part (or None), whether the question has a type
    that is marked at all, whether it asks for something more precise than its type (money,
    a counted noun, a month…), and whether the part found is that."""

    span: tuple[int, int] | None
    typed: bool = False
    precise: bool = False
    fits: bool = False


def answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` of the answering part of ``sentence``, or None when the question's
    type is unclear or nothing of that type is found (see ``mark``)."""
    return mark(question, sentence).span


@dataclass(frozen=True)
class _Asked:
    """What a question asks for, read once per question (``_asked``), used for every sentence."""

    kind: str | None  # "measure", "amount", "when", "who", "where"; None: not marked
    terms: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    money: bool = False
    percent: bool = False
    counted: frozenset[str] = frozenset()
    when_test: str | None = None  # a month, a year… for "what month", "which year"

    @property
    def precise(self) -> bool:
        return bool(self.money or self.percent or self.counted or self.when_test)


_WHEN_TESTS = {"year": r"\b\d{4}\b", "month": _MONTH, "day": r"\b\d{1,2}\b|day\b", "century": r"century",
               "decade": r"\d0s\b"}


@lru_cache(maxsize=256)
def _asked(question: str) -> _Asked:
    qtype = question_type(question)
    base = dict(terms=frozenset(terms(question)), words=frozenset(re.findall(r"\w+", question.lower())))
    if qtype == "amount" and re.search(r"\bhow (long|far|old|big|large|tall|high|deep|wide)\b", question, re.I) \
            and not re.search(r"\bhow (much|many)\b", question, re.I):
        return _Asked("measure", **base)
    if qtype == "amount" and re.search(r"\bhow (much|many)\b|\bwhat (percentage|percent|number|amount|share)\b", question, re.I):
        return _Asked("amount", **base, money=bool(_MONEY_Q.search(question)),
                      percent=bool(_PERCENT_Q.search(question)), counted=frozenset(_counted(question)))
    if qtype == "when":
        wants = re.search(r"\b(year|month|day|century|decade)\b", question, re.I)
        return _Asked("when", **base, when_test=_WHEN_TESTS[wants.group(1).lower()] if wants else None)
    if qtype in ("who", "where"):
        return _Asked(qtype, **base)
    return _Asked(None)


def _fits(asked: _Asked, piece: str, after: str) -> bool:
    """Whether a match is the precise thing asked for (money, a percentage, the counted noun,
    a month…)."""
    if asked.when_test is not None:
        return bool(re.search(asked.when_test, piece, re.I))
    if asked.money and re.search(_CURRENCY, piece):
        return True
    if asked.percent and re.search(r"%|percent|per cent", piece, re.I):
        return True
    if not asked.counted:
        return False
    # "400 planned operations": the counted noun may follow the number's own word
    # ("14-kilometre tram line" does not count trams)
    following = after.split()[:1 if after.startswith("-") else 2]
    return bool(asked.counted & set(terms(piece + " " + " ".join(following))))


def _matches(kind: str, sentence: str) -> list[tuple[int, int]]:
    """Spans of ``sentence`` of the wanted kind, before choosing among them."""
    if kind == "measure":
        return [m.span() for m in _MEASURE.finditer(sentence)]
    if kind == "amount":
        return [_trim_amount(sentence, *m.span()) for m in _AMOUNT.finditer(sentence)
                if _NUMBER_WORD.search(m.group()) and not _YEAR_ONLY.match(m.group().strip())]
    if kind == "when":
        return [m.span() for m in _DATE.finditer(sentence)]
    if kind == "who":
        found = [_trim_name(sentence, *_drop_sentence_start(sentence, m.start(), m.end())) for m in _NAME.finditer(sentence)]
        return [s for s in found if s and not _DATE_WORD.match(sentence[s[0]:s[1]])]
    return [m.span(1) for m in _PLACE.finditer(sentence)]


def mark(question: str, sentence: str) -> Mark:
    """The answering part of ``sentence`` for ``question``. Among the matches of the wanted
    type it prefers one that does not repeat the question's words, fits what the question
    asks for (money for "how much … cost", the counted noun for "how many homes", a month
    for "what month"), and stands nearest the question's words in the sentence."""
    asked = _asked(question)
    if asked.kind is None:
        return Mark(None)
    near = _nearness(sentence, asked.terms)
    best = None
    for a, b in (s for s in _matches(asked.kind, sentence) if s):
        piece = sentence[a:b]
        if asked.kind in ("who", "where"):
            new = [t for t in terms(piece) if t not in asked.terms]
            if not new:
                continue  # the question's own name is not the answer
        else:  # "May", "one": stopwords to the term matcher, answers here
            new = [w for w in re.findall(r"\w+", piece.lower()) if w not in asked.words and w not in _FILLER]
        score = (len(new) > 0, _fits(asked, piece, sentence[b:b + 60]), -near(a, b), -a)
        if best is None or score > best[0]:
            best = (score, (a, b))
    if best is None:
        return Mark(None, True, asked.precise)
    return Mark(best[1], True, asked.precise, bool(best[0][0] and best[0][1]))


def _nearness(sentence: str, q_terms: set[str]):
    """distance(a, b): words between the span and the nearest of the question's words in
    the sentence (0 when the sentence holds none of them)."""
    words = [(m.start(), m.end(), set(terms(m.group()))) for m in _WORD_RE.finditer(sentence)]
    hits = [i for i, (_, _, t) in enumerate(words) if t & q_terms]

    def distance(a: int, b: int) -> int:
        inside = [i for i, (s, e, _) in enumerate(words) if s < b and a < e]
        if not hits or not inside:
            return 0
        lo, hi = inside[0], inside[-1]
        return min(0 if lo <= h <= hi else (lo - h if h < lo else h - hi) for h in hits)

    return distance


def _counted(question: str) -> set[str]:
    """The noun "how many" counts ("how many homes …" -> {"home"}); nothing for a generic
    one ("how many people" are counted as spectators, signatures, employees…) or none
    ("how many were rescued")."""
    m = re.search(r"\bhow many ([\w-]+)(?: ([\w-]+))?", question, re.I)
    if not m or m.group(1).lower() in _NOT_COUNTED:
        return set()
    return set(terms(" ".join(g for g in m.groups() if g)))


_NOT_COUNTED = {"people", "persons", "person", "men", "women", "times", "of", "were", "was", "are", "is", "did", "do",
                "does", "have", "has", "had", "will", "would", "can", "could", "more", "fewer", "in", "at", "on"}


def _trim_amount(sentence: str, a: int, b: int) -> tuple[int, int]:
    """An amount without a trailing function word ("20 to" -> "20")."""
    words = list(re.finditer(r"\S+", sentence[a:b]))
    while len(words) > 1 and words[-1].group().lower().strip(".,;:") in _TAIL_STOP:
        words.pop()
    e = a + words[-1].end() if words else b
    while e > a and sentence[e - 1] in ".,;:":
        e -= 1
    return a, e


_FILLER = {"the", "a", "an", "of", "in", "on", "at", "by", "since", "until", "from", "about", "over", "under", "some"}
_TAIL_STOP = {"to", "and", "or", "of", "the", "a", "an", "in", "on", "at", "for", "from", "by", "with", "than", "as", "is",
              "was", "were", "are", "be", "been", "that", "which", "who", "this", "it", "its", "their", "his", "her"}


def _drop_sentence_start(sentence: str, a: int, b: int) -> tuple[int, int]:
    """A capitalised first word of the sentence is a name only when the next word is
    capitalised too ("Tom Brandt said", not "Healers" or "When the Mongols")."""
    if a > 0 and sentence[:a].strip():
        return a, b
    words = list(re.finditer(r"\S+", sentence[a:b]))
    if len(words) >= 2 and words[1].group()[:1].isupper():
        return a, b
    if len(words) < 2:
        return a, a
    return a + words[1].start(), b


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
