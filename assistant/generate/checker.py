"""The sentence checker: every sentence of a written answer is checked against the
numbered passages before it is shown as fact. A sentence is supported when it cites a
passage that exists, every fact of it (``facts.missing``: numbers, amounts, dates, names)
is in that passage, the passage's support score for it (the share of the sentence's
content words the passage holds) is at least ``threshold``, and it does not negate what
the passage says (or the reverse). A citation pointing at the wrong passage is corrected
when exactly one passage supports the sentence. Passage sentences that read as
instructions to a model ("ignore previous instructions…") never count as support: the
checker decides, not the model. No model here; plain functions of text."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from ..terms import answer_terms
from ..text import split_sentences
from .facts import facts, missing, strip_markers

# chosen on the tuning half of eval/written/sentences.jsonl (``python -m assistant.generate.measure``)
THRESHOLD = 0.65

_CITE = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]|\[\s*(\d{1,3})\s*[–-]\s*(\d{1,3})\s*\]")
_LEADING_MARKERS = re.compile(r"^\s*((?:\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]\s*)+)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
# reporting words say who said it, not what: they never count against support
_REPORTING = frozenset(answer_terms("say says said tell told state stated report reported according noted "
                                    "added explained passage passages article articles mention mentioned"
                                    " her hers him his she he they them their its also would will could about"
                                    " here there go answer answers question follow following base based sure okay"))
# words whose opposite in the passage (and absence of the word itself) contradicts the claim
_OPPOSITES = [("rise", "fall"), ("increas", "decreas"), ("increas", "cut"), ("approv", "reject"), ("win", "lose"),
              ("agre", "refus"), ("accept", "reject"), ("open", "close"), ("east", "west"), ("north", "south"),
              ("higher", "lower"), ("more", "fewer"), ("more", "less"), ("up", "down"), ("befor", "after"),
              ("start", "end"), ("gain", "loss"), ("hire", "fire"), ("buy", "sell"), ("resign", "appoint"),
              ("guilti", "innoc"), ("support", "oppos"), ("allow", "ban"), ("rais", "lower"), ("expand", "shrink")]
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)
_NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|n't)\b|n't\b", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(passages?|articles?|texts?|sources?|context|information (provided|given))\b[^.]{0,60}?"
    r"\b(do(es)?\s?n[o’']?t|not|never|neither)\b[^.]{0,40}?"
    r"\b(answer|say|mention|contain|include|provide|state|specify|give|tell|address|cover)"
    r"|\b(cannot|can ?not|can[’']t|unable to|not able to)\b[^.]{0,30}\b(answer|find|determine|tell|say)"
    r"|\bno (information|mention|details?)\b"
    r"|\bnot (mentioned|stated|specified|provided|given|said|covered)\b",
    re.IGNORECASE)
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.]{0,60}\b(instructions?|prompts?|rules?|above|previous|prior|passages?)\b"
    r"|\b(you are|you're|act as|pretend to be|from now on)\b[^.]{0,40}\b(assistant|ai|model|chatbot|language model)\b"
    r"|\b(system prompt|new instructions?|instructions? to the (model|assistant|ai))\b"
    r"|^\s*(system|assistant|user)\s*:"
    r"|<\|?(im_start|im_end|system|start_of_turn|end_of_turn)\|?>"
    r"|\b(tell|inform|assure) the (user|reader)s?\b"
    r"|\b(language models?|ai assistants?|chatbots?)\b[^.]{0,40}\b(must|should|shall|need to)\b"
    r"|\b(respond|reply|answer|say|write|state)\b (only |exactly |simply )?(with|that)\b[^.]{0,80}\b(supported|verified|passage|\[\d+\])",
    re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Passage:
    """A numbered passage the model was given: ``text == article.text[start:end]``."""

    n: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Checked:
    """One written sentence and the checker's verdict. ``kind``: "claim" (checked),
    "refusal" (the model says the passages do not answer) or "note" (states nothing
    checkable: "Here is what the passages say:"). ``citations`` are the passages that
    support it (after any correction; empty when unsupported); ``cited`` what the model
    wrote; ``support`` the best span of each supporting passage (absolute offsets)."""

    text: str
    kind: str
    supported: bool
    citations: tuple[int, ...]
    cited: tuple[int, ...]
    reason: str
    score: float = 0.0
    corrected: bool = False
    support: tuple[tuple[int, int, int], ...] = ()  # (n, start, end) in the article

    def to_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "supported": self.supported, "citations": list(self.citations),
                "cited": list(self.cited), "reason": self.reason, "support_score": round(self.score, 3),
                "corrected": self.corrected}


def with_marks(text: str, marks: str) -> str:
    """``text`` with ``marks`` ("[1]") before its closing punctuation: "closed [1]."."""
    if not marks:
        return text
    end = len(text.rstrip(".!?;:"))
    return f"{text[:end]} {marks}{text[end:]}"


@dataclass(frozen=True)
class _Verdict:
    ok: bool
    score: float
    reason: str
    span: tuple[int, int] | None = None


def cited_numbers(sentence: str) -> tuple[int, ...]:
    out: list[int] = []
    for m in _CITE.finditer(sentence):
        if m.group(1):
            nums = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        else:
            a, b = int(m.group(2)), int(m.group(3))
            nums = list(range(a, b + 1)) if 0 < b - a < 10 else [a, b]
        out += [n for n in nums if n not in out]
    return tuple(out)


def clean_reply(reply: str) -> str:
    """The reply without reasoning blocks (``<think>…</think>``) and markdown emphasis."""
    return _THINK.sub(" ", reply).replace("**", "").replace("__", "").strip()


def split_reply(reply: str) -> list[str]:
    """The reply's sentences, each with the citation markers that follow it ("… closed.
    [1] It …": "[1]" goes with the first sentence); bullets dropped."""
    text = clean_reply(reply)
    out: list[str] = []
    for line in text.split("\n"):
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        for a, b in split_sentences(line):
            s = line[a:b].strip()
            lead = _LEADING_MARKERS.match(s)
            if lead and out:
                out[-1] = out[-1] + " " + lead.group(1).strip()
                s = s[lead.end():].strip()
            if s:
                out.append(s)
    return out


def is_refusal(sentence: str) -> bool:
    return bool(_REFUSAL.search(strip_markers(sentence)))


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of ``text`` (relative offsets) that read as instructions to a model."""
    return [(a, b) for a, b in split_sentences(text) if _INJECTION.search(text[a:b])]


@lru_cache(maxsize=2048)
def _usable(text: str) -> tuple[tuple[int, int, str], ...]:
    """The sentences of a passage that may support a claim: (start, end, text) relative to
    the passage, instruction-like sentences left out."""
    return tuple((a, b, text[a:b]) for a, b in split_sentences(text) if not _INJECTION.search(text[a:b]))


def _content(sentence: str) -> list[str]:
    """The sentence's content words (stemmed; numbers are left to ``facts``)."""
    return [t for t in dict.fromkeys(answer_terms(strip_markers(sentence)))
            if t not in _REPORTING and not any(ch.isdigit() for ch in t)]


def _negated(text: str, near: set[str] | None = None) -> bool:
    """Whether ``text`` negates something: anywhere, or (``near``) within three words
    before one of those terms ("no injuries were reported" negates "injuries", not "rescued")."""
    if near is None:
        return bool(_NEGATION.search(text))
    words = re.findall(r"[\w']+", text.lower())
    for i, w in enumerate(words):
        if w in ("not", "no", "never", "none", "neither", "nor", "without") or w.endswith("n't"):
            after = answer_terms(" ".join(words[i + 1:i + 4]))
            if any(t in near for t in after):
                return True
    return False


def _opposed(terms: list[str], have: set[str]) -> str | None:
    """A claim word whose opposite the passage uses instead ("rose" where it says "fell")."""
    for t in terms:
        if t not in have:
            for o in _OPPOSITE.get(t, ()):
                if o in have:
                    return o
    return None


def _verdict(sentence: str, terms: list[str], passages: Sequence[Passage], threshold: float) -> _Verdict:
    """Whether ``passages`` (read together) support ``sentence``."""
    units = [(p, a, b, s) for p in passages for a, b, s in _usable(p.text)]
    if not units:
        return _Verdict(False, 0.0, "the cited passage holds only instructions, no reporting")
    body = "\n".join(s for _, _, _, s in units)
    label = ", ".join(f"[{p.n}]" for p in passages)
    gone = missing(sentence, body)
    have = set(answer_terms(body))
    score = sum(1 for t in terms if t in have) / len(terms) if terms else 1.0
    # the passage sentence that holds most of the claim (where a negation must agree)
    best = max(units, key=lambda u: (sum(1 for t in terms if t in set(answer_terms(u[3]))), -u[1]))
    span = (best[0].start + best[1], best[0].start + best[2])
    if gone:
        shown = ", ".join(f"“{g}”" for g in gone[:4])
        return _Verdict(False, score, f"{shown} {'is' if len(gone) == 1 else 'are'} not in passage {label}", span)
    if score < threshold:
        return _Verdict(False, score, f"passage {label} does not say this (support {score:.2f} < {threshold:.2f})", span)
    if _opposed(terms, have):
        return _Verdict(False, score, f"passage {label} says the opposite (“{_opposed(terms, have)}”)", span)
    if _negated(strip_markers(sentence)) != _negated(best[3], set(terms)):
        return _Verdict(False, score, f"passage {label} says the opposite (a negation differs)", span)
    return _Verdict(True, score, "", span)


def check_sentence(sentence: str, passages: Mapping[int, Passage], threshold: float = THRESHOLD) -> Checked:
    cited = cited_numbers(sentence)
    plain = " ".join(strip_markers(sentence).split())
    if is_refusal(plain):
        return Checked(plain, "refusal", False, (), cited, "the model says the passages do not answer this")
    terms = _content(plain)
    f = facts(plain)
    if len(terms) < 2 and not (f.numbers or f.names or f.months or f.days):
        return Checked(plain, "note", False, (), cited, "states no fact to check")
    unknown = [n for n in cited if n not in passages]
    verdict = None
    if cited and not unknown:
        verdict = _verdict(plain, terms, [passages[n] for n in cited], threshold)
        if verdict.ok:
            support = tuple((n, *_verdict(plain, terms, [passages[n]], 0.0).span) for n in cited) \
                if len(cited) > 1 else ((cited[0], *verdict.span),)
            return Checked(plain, "claim", True, cited, cited, "", verdict.score, False, support)
    # the wrong passage (or none, or one that does not exist): the one passage that supports it
    fits = {}
    for n, p in passages.items():
        if n in cited:
            continue
        v = _verdict(plain, terms, [p], threshold)
        if v.ok:
            fits[n] = v
    if len(fits) == 1:
        (n, v), = fits.items()
        was = (f"cited {', '.join(f'[{c}]' for c in cited)}" if cited else "cited no passage")
        return Checked(plain, "claim", True, (n,), cited, f"{was}; corrected to [{n}], which supports it", v.score,
                       True, ((n, *v.span),))
    if unknown:
        reason = f"cites {', '.join(f'[{n}]' for n in unknown)}, which {'is' if len(unknown) == 1 else 'are'} not one of the passages"
    elif not cited:
        reason = "cites no passage" + (" (several could support it)" if fits else "")
    else:
        reason = verdict.reason
    return Checked(plain, "claim", False, (), cited, reason, verdict.score if verdict else 0.0)


def check_reply(reply: str, passages: Sequence[Passage], threshold: float = THRESHOLD) -> list[Checked]:
    by_n = {p.n: p for p in passages}
    return [check_sentence(s, by_n, threshold) for s in split_reply(reply)]


_EN_COMMON = frozenset("""the a an of to in and is was were are be been has have had it its on at for with by from as
that this which who not but or said says will would their they he she his her after before""".split())


def english_share(text: str) -> float:
    """The share of common English function words among the words of ``text`` (about
    0.3-0.5 for English prose; under 0.1 for most other languages)."""
    ws = re.findall(r"[^\W\d_]+", text.lower())
    if not ws:
        return 0.0
    return sum(1 for w in ws if w in _EN_COMMON) / len(ws)


def other_language(reply: str, passages: Sequence[Passage]) -> bool:
    """The reply is not in the passages' language: English passages, a reply of at least
    six words with almost no English function words (or mostly non-Latin letters)."""
    text = strip_markers(clean_reply(reply))
    letters = [c for c in text if c.isalpha()]
    if not letters or len(text.split()) < 6:
        return False
    latin = sum(1 for c in letters if c.isascii() or "À" <= c <= "ɏ") / len(letters)
    passages_english = english_share(" ".join(p.text for p in passages)) >= 0.15
    return passages_english and (latin < 0.5 or english_share(text) < 0.08)
