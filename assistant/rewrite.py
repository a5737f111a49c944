"""Follow-up questions: rewrite a question that leans on the conversation ("How many
people work there?") into a self-contained query by adding the subject of the most
recent earlier turn that names one ("… Musan Mine")."""
from __future__ import annotations

import re
from typing import Sequence

from .lexical import terms

_ANAPHORA = re.compile(
    r"\b(it|its|it's|itself|they|them|their|theirs|there|that|this|these|those|he|him|his|she|her|hers|"
    r"the (mine|company|factory|complex|plant|article|country|region|place|source|report|paper))\b",
    re.IGNORECASE,
)
_OPENERS = re.compile(r"^\s*(and|also|what about|how about|and what about|so|then|but)\b", re.IGNORECASE)
# a run of capitalised words (allowing inner "of", "the", "-"): the subject of a turn
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z0-9][\w’'-]*)*")
_QUESTION_WORDS = {"how", "what", "who", "whom", "whose", "when", "where", "which", "why", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "and", "tell", "give", "list", "the", "a", "an",
                   "i", "in", "on", "at", "of", "to", "for"}


def is_follow_up(question: str) -> bool:
    """True when the question points back at the conversation or is too thin to stand alone."""
    if _ANAPHORA.search(question) or _OPENERS.match(question):
        return True
    return len(terms(question)) < 2


def names_in(turn: str) -> list[str]:
    """Capitalised runs in a turn, leading question words dropped."""
    names = []
    for m in _NAME.finditer(turn):
        words = m.group().split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return names


def rewrite_query(question: str, history: Sequence[str] = ()) -> str:
    """The query used for retrieval: the question itself, or, for a follow-up, the
    question followed by the names of the latest earlier turn that has any (or, when
    no turn names anything, the content words of the latest turn)."""
    question = question.strip()
    turns = [h.strip() for h in history if h and h.strip()]
    if not turns or not is_follow_up(question):
        return question
    have = set(terms(question))
    for turn in reversed(turns):
        extra = [n for n in names_in(turn) if not set(terms(n)) <= have]
        if extra:
            return f"{question} ({'; '.join(dict.fromkeys(extra))})"
    words = [w for w in re.findall(r"[\w’'-]+", turns[-1]) if terms(w) and not set(terms(w)) <= have]
    return f"{question} ({' '.join(words[:8])})" if words else question
