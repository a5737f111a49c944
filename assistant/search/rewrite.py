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
    r"plan|city|council|mayor|government|story|deal|law|bill|program|programme|service|team|club|site|school|hospital|"
    r"library|expedition|fund|route|ferry|storm|fire|strike|union|budget|vote|match|final|wing))\b",
    re.IGNORECASE,
)
_OPENERS = re.compile(r"^\s*(and|also|what about|how about|and what about|so|then|but)\b", re.IGNORECASE)
# a run of capitalised words (allowing inner "of", "the", "-"): the subject of a turn
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z0-9][\w’'-]*)*")
_QUESTION_WORDS = {"how", "what", "who", "whom", "whose", "when", "where", "which", "why", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "and", "tell", "give", "list", "the", "a", "an",
                   "i", "in", "on", "at", "of", "to", "for", "both", "will", "would", "should", "has", "have"}
MAX_SUBJECT_WORDS = 6
MAX_CONTENT_WORDS = 3  # content words (not names) carried as the subject
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her", "our", "my", "your"}
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


_FUNCTION_WORDS = {"it", "its", "itself", "they", "them", "their", "theirs", "there", "that", "this", "these", "those",
                   "he", "him", "his", "she", "her", "hers", "we", "our", "you", "your", "be", "been", "being",
                   "much", "many", "more", "most", "some", "any", "all", "about", "by", "from", "with", "back",
                   "so", "then", "but", "also", "not", "no", "than", "into", "after", "before", "over", "up"}


def content_terms(question: str) -> list[str]:
    """The stemmed terms of a question's content words (question words, auxiliaries,
    pronouns and other function words left out)."""
    skip = _QUESTION_WORDS | _AUX | _FUNCTION_WORDS
    return [t for w in re.findall(r"[\w’'-]+", question) if w.lower() not in skip for t in terms(w)]


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
    """The words of ``turn`` that name its subject: its capitalised names (without a
    possessive "'s"), then up to ``MAX_CONTENT_WORDS`` of its content words that the subject
    article's title uses (first line of ``context``) with the lead's words next to them (the
    noun phrase: "the new plant"), else (none in the title) those its lead uses. "How many
    people left their homes because of the wildfire?" -> people, homes, wildfire."""
    out = [_bare(n) for n in names_in(turn)]
    have = {t for n in out for t in terms(n)}
    title, _, lead = context.partition("\n")
    in_title, in_lead = set(terms(title)), set(terms(lead))
    words = [w for w in _subject_words(turn) if terms(w) and w.lower() not in _QUESTION_WORDS]
    stems = [terms(w)[0] for w in words]
    chosen = [i for i, t in enumerate(stems) if t in in_title and t not in have]
    if chosen:  # the lead's words that stand next to a title word: the rest of its noun phrase
        chosen += [i for i, t in enumerate(stems) if t in in_lead and t not in in_title and t not in have
                   and (i - 1 in chosen or i + 1 in chosen)]
    else:
        chosen = [i for i, t in enumerate(stems) if t in in_lead and t not in have]
    picked: list[int] = []  # the title's words first, then their neighbours, up to the cap
    for i in dict.fromkeys(chosen):
        if stems[i] not in have and len(picked) < MAX_CONTENT_WORDS:
            picked.append(i)
            have.add(stems[i])
    return out + [words[i] for i in sorted(picked)]


def _bare(name: str) -> str:
    """"Brenford's" -> "Brenford": the subject, not its possessive."""
    return re.sub(r"[’']s$", "", name)


def _subject_words(turn: str) -> list[str]:
    words = re.findall(r"[\w’'-]+", turn)
    # "How much will the tram line cost?": after an auxiliary, the last word is the verb the
    # question asks about, not its subject
    # (not after a determiner: "… because of the wildfire?" ends with its subject)
    if (len(words) > 2 and words[-1].islower() and _AUX.intersection(w.lower() for w in words[:-1])
            and words[-2].lower() not in _DETERMINERS):
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
    own_subject: Callable[[str, Subject], bool] | None = None,
) -> tuple[str, Subject]:
    """(query to search, the conversation's subject). ``locate(query)`` returns the
    articles a query finds first and their title and lead text; without it, only names
    carry over. ``own_subject(turn, subject)``: True when a turn that looks like a
    follow-up names a subject of its own (words the subject's articles never use), so it
    stands alone. The subject comes from the latest turn that stood on its own; follow-ups
    after it keep it (and move it to the articles they were answered from)."""
    question = question.strip()
    turns = [h.strip() for h in history if isinstance(h, str) and h.strip()]
    subject = Subject()

    def follows(turn: str) -> bool:
        return bool(subject.words) and is_follow_up(turn) and not (own_subject and own_subject(turn, subject))

    for turn in turns:
        if follows(turn):
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
    if not turns or not is_follow_up(question) or (subject.words and not follows(question)):
        return question, Subject()
    return with_subject(question, subject), subject


def rewrite_query(question: str, history: Sequence[str] = ()) -> str:
    """The query used for retrieval (names only; ``resolve`` with ``locate`` does more)."""
    return resolve(question, history)[0]
