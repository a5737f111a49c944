"""The one tokenizer (lower-case words, English stopwords, Snowball stemming) shared by
BM25 (``store.lexical``), follow-up rewriting and the answer stage's term matching."""
from __future__ import annotations

import re
import threading
from functools import lru_cache

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
