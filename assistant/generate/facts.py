"""The checkable facts of a sentence: numbers and amounts (normalised: "$2.4 million" =
"2.4 million dollars" = "2,400,000 dollars"), months and weekdays, and names (capitalised
words). A written sentence is supported only when every one of its facts is in the passage
it cites; ``missing(sentence, passage)`` lists those that are not."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_SCALE = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9,
          "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12}
_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
          "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
          "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12}
_CURRENCY_SIGN = {"$": "usd", "us$": "usd", "£": "gbp", "€": "eur", "¥": "jpy", "₩": "krw"}
_CURRENCY_WORD = {"dollar": "usd", "dollars": "usd", "usd": "usd", "pound": "gbp", "pounds": "gbp", "gbp": "gbp",
                  "sterling": "gbp", "euro": "eur", "euros": "eur", "eur": "eur", "yen": "jpy", "won": "krw",
                  "francs": "chf", "franc": "chf", "kroner": "nok", "kronor": "sek", "crowns": "czk"}
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MONTH = {m: i + 1 for i, m in enumerate(_MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_NUM = re.compile(
    r"(?P<cur>US\$|[$£€¥₩])?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:st|nd|rd|th)?"
    r"(?:\s?(?P<scale>hundred|thousand|million|billion|trillion|bn|mn|tn|[kmb])\b)?"
    r"(?:\s?(?P<unit>dollars?|usd|pounds?|gbp|sterling|euros?|eur|yen|won|francs?|kroner|kronor|crowns)\b)?",
    re.IGNORECASE)
_WORDNUM = re.compile(r"\b(?P<word>" + "|".join(_WORDS) + r")\b(?:[\s-](?P<scale>hundred|thousand|million|billion)\b)?"
                      r"(?:\s(?P<unit>dollars?|pounds?|euros?)\b)?", re.IGNORECASE)
_UNIT = re.compile(r"\b(minute|hour|day|week|month|year|decade)s?\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’\-.]*")
_MARKERS = re.compile(r"\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]")
# capitalised words that are not names (a sentence may start with them or use them as words)
_NOT_NAMES = frozenset("""a an the this that these those it its he she they we i you his her their our my
in on at of for to by with from and but or as if so when while after before since because about under over
there here what which who whom whose why how where also however meanwhile both each every all some many most
no not yes one mr mrs ms dr prof st passage passages article articles source sources according""".split())


@dataclass(frozen=True)
class Facts:
    numbers: frozenset[str]  # normalised values: "2400000", "3", "2026"
    currencies: frozenset[str]  # "usd", "gbp"…
    months: frozenset[int]
    days: frozenset[str]
    names: frozenset[str]  # lower-cased capitalised words (not sentence-initial ones)
    units: frozenset[str] = frozenset()  # time units of durations: "week", "month"…

    def describe(self) -> list[str]:
        return sorted(self.numbers) + sorted(self.currencies) + [_MONTHS[m - 1].title() for m in sorted(self.months)] \
            + [d.title() for d in sorted(self.days)] + sorted(self.names)


def _value(num: str, scale: str | None) -> str:
    v = float(num.replace(",", ""))
    if scale:
        v *= _SCALE[scale.lower()]
    v = round(v, 6)
    return str(int(v)) if v == int(v) else repr(v)


def strip_markers(text: str) -> str:
    """``text`` without citation markers ("closed [1]." -> "closed.")."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKERS.sub(" ", text)).strip()


def _surfaces(text: str) -> dict[str, str]:
    """normalised number -> how ``text`` writes it ("2400000" -> "$2.4 million")."""
    out: dict[str, str] = {}
    for m in _NUM.finditer(text):
        scale = m.group("scale")
        if scale and scale.lower() in ("k", "m", "b") and not (m.group("cur") or m.group("unit")):
            scale = None
        out.setdefault(_value(m.group("num"), scale), m.group(0).strip())
    for m in _WORDNUM.finditer(text):
        out.setdefault(_value(str(_WORDS[m.group("word").lower()]), m.group("scale")), m.group(0).strip())
    return out


@lru_cache(maxsize=4096)
def facts(text: str, names_from_start: bool = False) -> Facts:
    """The facts of ``text`` (citation markers ignored). A capitalised first word of a
    sentence counts as a name only when the next word is capitalised too ("Jane Smith
    said"), unless ``names_from_start`` (a passage: every capitalised word is kept)."""
    text = strip_markers(text)
    numbers, currencies, months, days, names = set(), set(), set(), set(), set()
    for m in _NUM.finditer(text):
        scale = m.group("scale")
        if scale and scale.lower() in ("k", "m", "b") and not (m.group("cur") or m.group("unit")):
            scale = None  # "5m" of wall, "3 b": no amount without a currency
        numbers.add(_value(m.group("num"), scale))
        cur = (m.group("cur") or "").lower()
        unit = (m.group("unit") or "").lower()
        if cur:
            currencies.add(_CURRENCY_SIGN[cur])
        if unit:
            currencies.add(_CURRENCY_WORD[unit])
    for m in _WORDNUM.finditer(text):
        numbers.add(_value(str(_WORDS[m.group("word").lower()]), m.group("scale")))
        if m.group("unit"):
            currencies.add(_CURRENCY_WORD[m.group("unit").lower()])
    for m in re.finditer(r"\b(a|one)\s(hundred|thousand|million|billion)\b", text, re.IGNORECASE):
        numbers.add(_value("1", m.group(2)))
    tokens = list(_TOKEN.finditer(text))
    for i, m in enumerate(tokens):
        word = m.group().rstrip(".-'’")
        if word.lower().endswith(("'s", "’s")):
            word = word[:-2]
        low = word.lower()
        if low in _MONTH and word[0].isupper():  # "march" and "may" in lower case are verbs
            months.add(_MONTH[low])
            continue
        if low in _DAYS:
            days.add(low)
            continue
        if not word or not word[0].isupper() or low in _NOT_NAMES or low in _CURRENCY_WORD:
            continue
        start = _sentence_start(text, m.start())
        if start and not names_from_start:
            nxt = tokens[i + 1].group() if i + 1 < len(tokens) else ""
            if not (nxt[:1].isupper() and tokens[i + 1].start() - m.end() <= 1):
                continue
        for part in re.split(r"[-.]", low):
            if len(part) > 1 and part not in _NOT_NAMES:
                names.add(part)
    units = {m.group(1).lower() for m in _UNIT.finditer(text)}
    return Facts(frozenset(numbers), frozenset(currencies), frozenset(months), frozenset(days), frozenset(names),
                 frozenset(units))


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?:\n*-•"


@lru_cache(maxsize=4096)
def words(text: str) -> frozenset[str]:
    """Every word of ``text``, lower-cased, with hyphenated and dotted parts split."""
    return frozenset(w for w in re.split(r"[^\w]+", strip_markers(text).lower()) if w)


def missing(sentence: str, passage: str) -> list[str]:
    """The facts of ``sentence`` that ``passage`` does not hold, as shown to a reader
    ("2400000", "usd", "March", "smith"); [] when every one is there."""
    s, p = facts(sentence), facts(passage, names_from_start=True)
    pw = words(passage)
    surface = _surfaces(strip_markers(sentence))
    out = [surface.get(n, n) for n in sorted(s.numbers) if n not in p.numbers]
    out += [f"in {c.upper()}" for c in sorted(s.currencies) if c not in p.currencies]
    out += [_MONTHS[m - 1].title() for m in sorted(s.months) if m not in p.months]
    out += [d.title() for d in sorted(s.days) if d not in p.days]
    out += [n.title() for n in sorted(s.names) if n not in pw and n not in p.names]
    out += [u for u in sorted(s.units) if u not in p.units]
    return out
