"""Answer-stage features: every candidate sentence of the retrieved passages becomes one
row of numbers describing how well it fits the question. The learned scorer
(``assistant.answer.scorer``) turns the rows into a ranking and an answerability probability.

Pure functions over plain values: the question, the query actually searched, the hits,
the articles, the corpus idf and (when the query was embedded) each sentence's cosine to
the query. Nothing here is fitted; ``FEATURES`` names the columns in order."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ..terms import answer_terms as terms
from ..text import split_sentences
from ..types import Article, Hit
from .question import QTYPE_NAMES, question_type
from .span import mark

_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|dozen)\b", re.I)
_MONTH = r"(Jan(uary)?|Feb(ruary)?|Mar(ch)?|Apr(il)?|May|June?|July?|Aug(ust)?|Sep(t(ember)?)?|Oct(ober)?|Nov(ember)?|Dec(ember)?)"
_DATE = re.compile(rf"\b{_MONTH}\b|\b(1[0-9]|20)\d\d\b|\b\d{{1,2}}(st|nd|rd|th)? century\b|\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|last (week|month|year))\b|\b\d{{1,4}}s\b", re.I)
_CAPWORD = re.compile(r"\b[A-Z][\w’'-]+")
_PLACE = re.compile(r"\b(in|at|near|from|to|into|across|outside|inside) (the )?[A-Z][\w’'-]+|\b(province|city|county|region|district|state|country|town|village|border|street|river|island)\b", re.I)
_REASON = re.compile(r"\b(because|due to|as a result|in order to|so that|to prevent|to avoid|since|owing to|caused|reason|led to|after)\b", re.I)
_NEGATION = re.compile(r"\b(not|never|no|none|neither|nor|without|fail(ed|s)?|n’t|n't)\b", re.I)
# photo captions, bylines, credits and footers: poor answers unless asked for
_FURNITURE = re.compile(
    r"^\W*(in this (undated )?(photo|picture|image|file photo)|(photo|image|picture|file photo)s?\s*([:/|]|(by|courtesy|credit)\b)"
    r"|(ap|afp|reuters|getty|yonhap|epa|kcna) (photo|images)|"
    r"(reporting|writing|editing|additional reporting) by\b|contact us\b|copyright|©|all rights reserved|read (more|also)\b|related:)",
    re.I,
)
_FURNITURE_ANYWHERE = re.compile(
    r"\b(photo|image|picture) (taken|shows|courtesy|credit)|\(photo[:)]|\bcaption\b|\bfile photo\b"
    r"|\((yonhap|ap|afp|reuters|getty( images)?|epa|kcna|xinhua|[\w .-]*\bphoto\b[\w .-]*)\)\s*$", re.I)
_ASKS_FURNITURE = re.compile(r"\b(photo|picture|image|photograph(er)?|caption|credit|byline|wrote|written|author|reporter|translated)\b", re.I)


_BYLINE = re.compile(r"^By [A-Z][\w.’'-]+( [A-Z][\w.’'-]+){0,3}\s*([|–-].{0,60})?$")


def is_furniture(sentence: str) -> bool:
    """A photo caption, byline, credit or footer line."""
    s = sentence.strip()
    return bool(_FURNITURE.search(s) or _FURNITURE_ANYWHERE.search(s) or _BYLINE.match(s))


def is_caption(paragraph: str) -> bool:
    """A short paragraph that is a photo caption as a whole: every sentence of "Residents
    queue at the office on Monday. (Courier photo by Sam Oduya)" is furniture, not only the
    credit that the sentence splitter cuts off."""
    return len(paragraph.split()) <= 60 and is_furniture(paragraph)


# ---------------------------------------------------------------- candidates

@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage: ``articles[hit.chunk.doc_id].text[start:end]``."""

    hit: Hit
    start: int
    end: int
    index: int  # position among the candidates (passage rank order, then text order)


def candidates(hits: Sequence[Hit], articles: Mapping[str, Article]) -> list[Candidate]:
    """Every distinct sentence of the hits, in hit-rank then text order."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        text = articles[hit.chunk.doc_id].text
        for a, b in split_sentences(text, hit.chunk.start, hit.chunk.end):
            if (hit.chunk.doc_id, a) in seen:
                continue
            seen.add((hit.chunk.doc_id, a))
            out.append(Candidate(hit, a, b, len(out)))
    return out


# how many candidates (best by term share and cosine) the reading model reads
READER_TOP = 12

FEATURES = (
    "coverage", "coverage_window", "coverage_paragraph", "coverage_article",
    "missing_idf", "missing_idf_window", "missing_idf_paragraph", "missing_idf_article",
    "coverage_gap", "coverage_rank", "similarity", "similarity_gap", "similarity_rank", "has_similarity",
    "passage_rank", "passage_dense", "passage_lexical", "top_dense",
    "novelty", "length", "position", "paragraph_start", "furniture", "asks_furniture",
    "has_number", "has_date", "has_new_name", "has_place", "has_reason", "negation_mismatch",
    "question_numbers_missing", "question_names_missing", "question_terms", "extra_terms",
) + tuple(f"type_{t}" for t in QTYPE_NAMES) + tuple(f"fit_{t}" for t in ("amount", "when", "who", "where", "why")) + ("answer_missing", "answer_unfit")


def _weights(question: str, query: str, idf: Callable[[str], float]) -> tuple[dict[str, float], float]:
    q_terms = set(terms(question))
    extra = set(terms(query)) - q_terms
    weights = {t: idf(t) for t in q_terms} | {t: 0.5 * idf(t) for t in extra}
    return weights, max((idf(t) for t in weights), default=1.0) or 1.0


def _cover(weights: Mapping[str, float], present: set[str]) -> tuple[float, float]:
    """(idf-weighted share of the weights found in ``present``, largest weight missing)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0, 0.0
    found = sum(w for t, w in weights.items() if t in present)
    missing = max((w for t, w in weights.items() if t not in present), default=0.0)
    return found / total, missing


def _paragraph(text: str, a: int, b: int) -> tuple[int, int]:
    p = text.rfind("\n", 0, a) + 1
    q = text.find("\n", b)
    return p, len(text) if q < 0 else q


def featurize(
    question: str,
    query: str,
    cands: Sequence[Candidate],
    articles: Mapping[str, Article],
    idf: Callable[[str], float],
    similarity: Callable[[str, int, int], float | None] | None = None,
    top_dense: float | None = None,
    article_terms: Callable[[str], set[str]] | None = None,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate (float32, shape (len(cands), len(FEATURES)))."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    weights, max_w = _weights(question, query, idf)
    qtype = question_type(question)
    q_words = set(w.lower() for w in re.findall(r"[\w’'-]+", question))
    q_names = {m.group().lower() for m in _CAPWORD.finditer(question) if m.start() > 0}
    q_numbers = set(re.findall(r"\d[\d,.]*", question))
    q_neg = bool(_NEGATION.search(question))
    asks_furniture = bool(_ASKS_FURNITURE.search(question))
    n_terms = len(weights)
    extra_terms = len(set(terms(query)) - set(terms(question)))
    art_terms = article_terms or (lambda d: set(terms(articles[d].text)))

    sent_terms: list[set[str]] = []
    cache_par: dict[tuple[str, int], set[str]] = {}
    caption: dict[tuple[str, int], bool] = {}
    rows = []
    for c in cands:
        doc = c.hit.chunk.doc_id
        text = articles[doc].text
        s = text[c.start:c.end]
        st = set(terms(s))
        sent_terms.append(st)
        pa, pb = _paragraph(text, c.start, c.end)
        if (doc, pa) not in cache_par:
            cache_par[(doc, pa)] = set(terms(text[pa:pb]))
            caption[(doc, pa)] = is_caption(text[pa:pb])
        rows.append((c, doc, text, s, st, pa, pb))

    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_doc.setdefault(c.hit.chunk.doc_id, []).append(i)
    window_terms: list[set[str]] = []
    for i, c in enumerate(cands):
        # neighbours: the candidates just before and after in the same article
        same = sorted(by_doc[c.hit.chunk.doc_id], key=lambda j: cands[j].start)
        k = same.index(i)
        w = set(sent_terms[i])
        for j in same[max(0, k - 1):k + 2]:
            if abs(cands[j].start - c.start) < 2000:
                w |= sent_terms[j]
        window_terms.append(w)

    cov = np.zeros(n)
    sims = np.full(n, np.nan)
    lex_max = max((h.lexical_score or 0.0) for h in (c.hit for c in cands)) or 1.0
    for i, (c, doc, text, s, st, pa, pb) in enumerate(rows):
        f = {}
        f["coverage"], miss = _cover(weights, st)
        f["missing_idf"] = miss / max_w
        f["coverage_window"], miss = _cover(weights, window_terms[i])
        f["missing_idf_window"] = miss / max_w
        f["coverage_paragraph"], miss = _cover(weights, cache_par[(doc, pa)])
        f["missing_idf_paragraph"] = miss / max_w
        f["coverage_article"], miss = _cover(weights, art_terms(doc))
        f["missing_idf_article"] = miss / max_w
        cov[i] = f["coverage"]
        sim = similarity(doc, c.start, c.end) if similarity is not None else None
        if sim is not None:
            sims[i] = sim
        f["similarity"] = sim if sim is not None else 0.0
        f["has_similarity"] = 1.0 if sim is not None else 0.0
        f["passage_rank"] = 1.0 / c.hit.rank
        f["passage_dense"] = c.hit.dense_score if c.hit.dense_score is not None else 0.0
        f["passage_lexical"] = (c.hit.lexical_score or 0.0) / lex_max
        f["top_dense"] = top_dense if top_dense is not None else 0.0
        f["novelty"] = len(st - set(weights)) / max(1, len(st))
        f["length"] = math.log1p(len(st))
        f["position"] = 1.0 / (1.0 + text.count("\n\n", 0, c.start))
        f["paragraph_start"] = 1.0 if not text[pa:c.start].strip() else 0.0
        f["furniture"] = 1.0 if is_furniture(s) or caption[(doc, pa)] else 0.0
        f["asks_furniture"] = 1.0 if asks_furniture else 0.0
        s_words = set(w.lower() for w in re.findall(r"[\w’'-]+", s))
        new_names = [m.group() for m in _CAPWORD.finditer(s) if m.start() > 0 and m.group().lower() not in q_words]
        f["has_number"] = 1.0 if _NUMBER.search(s) else 0.0
        f["has_date"] = 1.0 if _DATE.search(s) else 0.0
        f["has_new_name"] = min(3, len(new_names)) / 3.0
        f["has_place"] = 1.0 if _PLACE.search(s) else 0.0
        f["has_reason"] = 1.0 if _REASON.search(s) else 0.0
        f["negation_mismatch"] = 1.0 if q_neg != bool(_NEGATION.search(s)) else 0.0
        par_text = text[pa:pb]
        f["question_numbers_missing"] = 1.0 if any(x not in par_text for x in q_numbers) else 0.0
        f["question_names_missing"] = (sum(1 for x in q_names if x not in s_words and x not in par_text.lower())
                                       / max(1, len(q_names)))
        f["question_terms"] = math.log1p(n_terms)
        f["extra_terms"] = 1.0 if extra_terms else 0.0
        for t in QTYPE_NAMES:
            f[f"type_{t}"] = 1.0 if qtype == t else 0.0
        f["fit_amount"] = f["type_amount"] * f["has_number"]
        f["fit_when"] = f["type_when"] * f["has_date"]
        f["fit_who"] = f["type_who"] * f["has_new_name"]
        f["fit_where"] = f["type_where"] * f["has_place"]
        f["fit_why"] = f["type_why"] * f["has_reason"]
        # what the question's type asks for is not in the sentence (no amount for "how
        # many"), or not what was asked (no money for "how much … cost")
        m = mark(question, s)
        f["answer_missing"] = 1.0 if m.typed and m.span is None else 0.0
        f["answer_unfit"] = 1.0 if m.precise and not m.fits else 0.0
        out[i] = [f.get(name, 0.0) for name in FEATURES]
    col = {name: j for j, name in enumerate(FEATURES)}
    out[:, col["coverage_gap"]] = cov - cov.max()
    out[:, col["coverage_rank"]] = 1.0 / (1.0 + _rank(-cov))
    if not np.all(np.isnan(sims)):
        filled = np.where(np.isnan(sims), np.nanmin(sims), sims)
        out[:, col["similarity_gap"]] = filled - filled.max()
        out[:, col["similarity_rank"]] = 1.0 / (1.0 + _rank(-filled))
    return out


def reading_order(X: np.ndarray) -> np.ndarray:
    """Candidates by the term share and cosine they get before any model reads them
    (the "terms" score of the answer policy without the learned parts), best first."""
    col = {name: j for j, name in enumerate(FEATURES)}
    furniture = (X[:, col["furniture"]] > 0) & (X[:, col["asks_furniture"]] <= 0)
    h = (X[:, col["coverage"]] + X[:, col["similarity"]] + 0.1 * X[:, col["passage_rank"]]
         - 0.5 * furniture - 0.5 * (X[:, col["novelty"]] <= 0))
    return np.argsort(-h, kind="stable")


def read(query: str, cands: Sequence[Candidate], articles: Mapping[str, Article], X: np.ndarray,
         reader, top: int = READER_TOP) -> np.ndarray:
    """The reading model's logit for each candidate: it reads ``query`` against the best
    ``top`` candidates by ``reading_order`` (title and sentence); NaN for the others and for
    every candidate when there is no reader."""
    logit = np.full(len(cands), np.nan)
    if reader is None or len(cands) == 0 or top <= 0:
        return logit
    rows = reading_order(X)[:top]
    items = []
    for i in rows:
        c = cands[i]
        article = articles[c.hit.chunk.doc_id]
        items.append((article.title, article.text[c.start:c.end]))
    logit[rows] = reader.read(query, items).logit
    return logit


def _rank(values: np.ndarray) -> np.ndarray:
    """0 for the smallest value, 1 for the next… (ties share the lower rank)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks
