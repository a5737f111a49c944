"""Follow-up questions: keep the conversation's subject. A question that leans on the
conversation ("When will it open?", "And its leadership?") is searched with the subject's
key terms added — the names and the words that the subject's article uses in its title
or lead, taken from the latest turn that stood on its own, not from the previous
follow-up's own topic — and retrieval prefers the articles the subject was found in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ..terms import terms

_ANAPHORA = re.compile(
    r"\b(it|its|it's|itself|they|them|their|theirs|there|that|this|these|those|he|him|his|she|her|hers|"
    r"the (mine|company|factory|complex|plant|article|country|region|place|source|report|paper|project|line|"
    r"plan|city|council|mayor|government|story|deal|law|bill|program|programme))\b",
    re.IGNORECASE,
)
_OPENERS = re.compile(r"^\s*(and|also|what about|how about|and what about|so|then|but)\b", re.IGNORECASE)
# a run of capitalised words (allowing inner "of", "the", "-"): the subject of a turn
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z0-9][\w’'-]*)*")
_QUESTION_WORDS = {"how", "what", "who", "whom", "whose", "when", "where", "which", "why", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "and", "tell", "give", "list", "the", "a", "an",
                   "i", "in", "on", "at", "of", "to", "for", "both", "will", "would", "should", "has", "have"}
MAX_SUBJECT_WORDS = 6
_AUX = {"will", "would", "does", "did", "do", "can", "could", "should", "has", "have", "had", "is", "are", "was", "were"}


@dataclass(frozen=True)
class Subject:
    """What the conversation is about: key words and the articles they were found in."""

    words: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()


def points_back(question: str) -> bool:
    """True when the question refers to the conversation ("it", "the mine", "And …")."""
    return bool(_ANAPHORA.search(question) or _OPENERS.match(question))


def is_follow_up(question: str) -> bool:
    """True when the question points back at the conversation or is too thin to stand alone."""
    return points_back(question) or len(terms(question)) < 2


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


def key_words(turn: str, context: str = "") -> list[str]:
    """The words of ``turn`` that name its subject: capitalised names, and the content
    words that also occur in ``context`` (the subject article's title and lead)."""
    out = list(names_in(turn))
    have = {t for n in out for t in terms(n)}
    ctx = set(terms(context))
    words = _subject_words(turn)
    for w in words:
        t = terms(w)
        if t and t[0] in ctx and t[0] not in have and w.lower() not in _QUESTION_WORDS:
            out.append(w)
            have.add(t[0])
    return out


def _subject_words(turn: str) -> list[str]:
    words = re.findall(r"[\w’'-]+", turn)
    # "How much will the tram line cost?": after an auxiliary, the last word is the verb the
    # question asks about, not its subject
    if len(words) > 2 and words[-1].islower() and _AUX.intersection(w.lower() for w in words[:-1]):
        words = words[:-1]
    return words


def topic_words(turn: str) -> list[str]:
    """The content words of a turn, without the verb it asks about ("When will construction
    start?" -> ["construction"]): its subject when no name or article word marks one."""
    return [w for w in _subject_words(turn) if terms(w) and w.lower() not in _QUESTION_WORDS]


def with_subject(question: str, subject: Subject) -> str:
    """The question followed by the subject's words it does not already hold."""
    have = set(terms(question))
    extra = [w for w in subject.words if not set(terms(w)) <= have]
    return f"{question} ({' '.join(dict.fromkeys(extra))})" if extra else question


def resolve(
    question: str,
    history: Sequence[str] = (),
    locate: Callable[[str], tuple[tuple[str, ...], str]] | None = None,
) -> tuple[str, Subject]:
    """(query to search, the conversation's subject). ``locate(query)`` returns the
    articles a query finds first and their title and lead text; without it, only names
    carry over. The subject comes from the latest turn that stood on its own; follow-ups
    after it keep it (and move it to the articles they were answered from)."""
    question = question.strip()
    turns = [h.strip() for h in history if isinstance(h, str) and h.strip()]
    subject = Subject()
    for turn in turns:
        if subject.words and is_follow_up(turn):
            query = with_subject(turn, subject)
            docs, _ = locate(query) if locate else (subject.doc_ids, "")
            subject = Subject(subject.words, docs or subject.doc_ids)
        else:
            docs, context = locate(turn) if locate else ((), "")
            # a turn that stands on its own sets the subject: its names and the words its
            # article's title or lead uses, else its own content words
            words = (key_words(turn, context) or topic_words(turn))[:MAX_SUBJECT_WORDS]
            if words or not subject.words:
                subject = Subject(tuple(words), docs)
    if not turns or not is_follow_up(question):
        return question, Subject()
    return with_subject(question, subject), subject


def rewrite_query(question: str, history: Sequence[str] = ()) -> str:
    """The query used for retrieval (names only; ``resolve`` with ``locate`` does more)."""
    return resolve(question, history)[0]
