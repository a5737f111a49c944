"""What a question asks for: its type ("amount", "when", "who", "where", "why", "what",
"how", else "other"), read by the answer features and by the answer-part marking."""
from __future__ import annotations

import re

_QTYPES = (
    ("amount", re.compile(r"\bhow (much|many)\b|\bwhat (percentage|percent|number|amount|proportion|share)\b|\bhow (long|old|far|big|large|tall|high|deep|often|fast)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\bwhat (year|date|time|day|month|century|decade)\b|\bwhich (year|date|month|day|century|decade)\b|\bhow long ago\b", re.I)),
    ("who", re.compile(r"\bwho(m|se)?\b|\bwhich (company|person|man|woman|group|organi[sz]ation|official|leader|team|party|country)\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\bwhat (country|city|region|province|place|location|state|area)\b|\bin which\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat (caused|led to)\b|\bfor what reason\b", re.I)),
    ("what", re.compile(r"\bwhat\b|\bwhich\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
)
QTYPE_NAMES = tuple(name for name, _ in _QTYPES)


def question_type(question: str) -> str:
    """The first matching type in ``QTYPE_NAMES`` order, or "other"."""
    for name, pattern in _QTYPES:
        if pattern.search(question):
            return name
    return "other"
