"""Lexical side of retrieval: one tokenizer (lower-case words, English stopwords,
Snowball stemming) shared by BM25 (``bm25s``) and the answer stage's term matching."""
from __future__ import annotations

import math
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # question words matter for the answer type, not for matching passages
    extra = {"how", "much", "many", "what", "which", "who", "whom", "whose", "why", "when", "where", "does",
             "did", "do", "could", "would", "should", "can", "may", "might", "must", "shall", "whi", "doe"}
    return frozenset(STOPWORDS_EN) | extra


_local = threading.local()


def _stemmer():
    """One Snowball stemmer per thread (PyStemmer objects are not thread-safe; the web
    app answers several questions at once)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content terms of ``text``, in order (repeats kept)."""
    stop = _stopwords()
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in stop]


# irregular past forms, stemmed, mapped to their verb's stem ("said" -> "say"): the answer
# stage matches "What did the chair say?" with "The chair said …". Retrieval (BM25) keeps
# plain ``terms`` so that built indexes stay valid.
_IRREGULAR_FORMS = """say said|tell told|win won|lose lost|buy bought|sell sold|pay paid|build built|make made|
take took taken|give gave given|find found|meet met|hold held|rise rose risen|fall fell fallen|begin began begun|
come came|know knew known|think thought|bring brought|spend spent|keep kept|lead led|run ran|send sent|
choose chose chosen|speak spoke spoken|write wrote written|steal stole stolen|fight fought|catch caught|teach taught|
seek sought|grow grew grown|drive drove driven|strike struck|break broke broken|see saw seen|become became|
draw drew drawn|fly flew flown|throw threw thrown|shoot shot|flee fled|feed fed|lend lent|mean meant|hear heard|
stand stood|understand understood|sit sat|lay laid|deal dealt|sink sank sunk|hide hid hidden|ride rode ridden|
freeze froze frozen|eat ate eaten|forget forgot forgotten|leave left|go went gone|rebuild rebuilt|repay repaid|
overpay overpaid|overtake overtook overtaken|undertake undertook undertaken|withhold withheld|uphold upheld|
withdraw withdrew withdrawn|overcome overcame|outgrow outgrew outgrown|oversee oversaw overseen|mislead misled|
foresee foresaw foreseen|rewrite rewrote rewritten|resell resold|retell retold|overrun overran|arise arose arisen"""


@lru_cache(maxsize=1)
def _irregular() -> dict[str, str]:
    out = {}
    for group in _IRREGULAR_FORMS.replace("\n", "").split("|"):
        base, *forms = group.split()
        for form in forms:
            out[_stem(form)] = _stem(base)
    return out


def answer_terms(text: str) -> list[str]:
    """``terms`` with irregular verb forms joined to their verb: the answer stage's words."""
    irregular = _irregular()
    return [irregular.get(t, t) for t in terms(text)]


class LexicalIndex:
    """BM25 (``bm25s``) over chunk texts, plus document frequencies for term weighting.
    Built from texts, or loaded (memory-mapped) from the arrays ``save`` wrote."""

    def __init__(self, texts: Sequence[str] = ()):
        builder = LexicalBuilder()
        builder.add(texts)
        built = builder.finish(len(texts))
        self.n, self._bm25 = built.n, built._bm25

    @classmethod
    def _of(cls, bm25, n: int) -> "LexicalIndex":
        self = cls.__new__(cls)
        self.n, self._bm25 = n, bm25
        return self

    def save(self, folder: str | Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = True) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=mmap)
        return cls._of(bm25, int(bm25.scores["num_docs"]))

    def df(self, term: str) -> int:
        """How many chunks hold ``term`` (a BM25 score is stored for each of them)."""
        i = self._bm25.vocab_dict.get(term)
        if i is None or not term:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (unknown terms get the highest weight)."""
        return math.log(1.0 + (self.n + 1) / (self.df(term) + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query term is known)."""
        ids = self._bm25.get_tokens_ids([t for t in query_terms if t])
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)


class LexicalBuilder:
    """Collects chunk texts batch by batch as compact token ids (not strings), then builds
    the BM25 index once."""

    def __init__(self):
        self.vocab: dict[str, int] = {"": 0}  # the empty token stands in for a chunk with no content terms
        self.ids: list[np.ndarray] = []  # int32 per chunk: 4 bytes a token, not a Python int each

    def add(self, texts: Sequence[str]) -> None:
        vocab = self.vocab
        for t in texts:
            self.ids.append(np.asarray([vocab.setdefault(w, len(vocab)) for w in terms(t)] or [0], dtype=np.int32))

    def finish(self, n: int) -> LexicalIndex:
        import bm25s
        from bm25s.tokenization import Tokenized

        bm25 = bm25s.BM25()
        bm25.index(Tokenized(ids=self.ids, vocab=self.vocab), show_progress=False)
        self.ids = []
        return LexicalIndex._of(bm25, n)
