"""The question-answering engine over a built index: rewrite → retrieve → answer.
The CLI, the web UI and the evaluation runner all go through ``Assistant.ask``."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Collection, Sequence

import numpy as np

from .answer import recency
from .answer.aboutarticle import answer_about_article, asks_about_article, topic_of
from .answer.features import candidates, featurize
from .answer.policy import AnswerPolicy, abstain, compose, rank, related_passages
from .embed.encoder import Encoder
from .embed.factory import encoder_from_settings
from .errors import AssistantError, IndexMismatchError, QuestionError
from .search.retrieve import Retriever, diversify
from .search.rewrite import Subject, content_terms, names_in, points_back, resolve
from .search.timeparse import explicit_range, parse_as_of
from .settings import Settings
from .store.index import StoredIndex, load_index, manifest_stamp, prune, read_manifest
from .terms import answer_terms as terms
from .types import Answer, Article, Hit


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    """What retrieval found for one question: the passages the answer stage reads."""

    question: str
    query: str
    hits: tuple[Hit, ...]
    k: int
    qvec: np.ndarray | None
    top_dense: float | None
    passages: tuple[Hit, ...] = ()  # the best k passages whatever their article: what the answer reads


class Assistant:
    def __init__(self, stored: StoredIndex, encoder: Encoder | None, settings: Settings = Settings(), scorer=None,
                 reader=None):
        from .answer.reader import load_reader
        from .answer.scorer import load_scorer

        self.scorer = scorer if scorer is not None else load_scorer(settings.scorer or None)
        self.policy = AnswerPolicy.from_settings(settings)
        # the reading model, when the answer policy uses it: checked now, its ONNX session
        # started at the first question
        self.reader = reader if reader is not None or not self.policy.reads else load_reader(settings.reader or None)
        self.stored = stored
        self.encoder = encoder
        self.settings = settings
        self.lexical = stored.lexical
        self.retriever = Retriever(stored, self.lexical, settings.rrf_k, settings.max_chunks_per_doc)
        # representative doc_id -> the near-duplicate copies collapsed into it at index time
        self.copies: dict[str, list[str]] = dict(stored.manifest.get("duplicates") or {})
        self.copy_ids = {d for ds in self.copies.values() for d in ds if d in stored.articles}
        self._article_terms: dict[str, set[str]] = {}
        self._searchable: tuple[str, ...] | None = None

    @classmethod
    def open(cls, index_dir: str | Path, settings: Settings | None = None, encoder: Encoder | None = None,
             scorer=None, reader=None) -> "Assistant":
        """Load the index and the model it was built with (unless ``encoder`` is given)."""
        settings = settings or Settings()
        stored = load_index(index_dir)
        model = stored.manifest.get("model")
        if encoder is None and settings.retriever != "bm25":
            encoder = encoder_from_settings(settings, model=model)
        if encoder is not None and encoder.name != model:
            raise IndexMismatchError(
                f"The index in {index_dir} was built with model {model!r}, not {encoder.name!r}: "
                f"rebuild it with `assistant index --index {index_dir} --model {encoder.name}`."
            )
        return cls(stored, encoder, settings, scorer, reader)

    @property
    def articles(self) -> dict[str, Article]:
        return self.stored.articles

    @property
    def manifest(self) -> dict:
        return self.stored.manifest

    def check_question(self, question: str) -> str:
        return check_question(question, self.settings)

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        retriever: str | None = None,
        as_of: str | dt.date | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        return self.ask_batch([(question, history)], k=k, doc_ids=doc_ids, retriever=retriever, raise_errors=True,
                              as_of=as_of, since=since, until=until)[0]

    def ask_batch(
        self,
        items: Sequence[tuple[str, Sequence[str]]],
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        retriever: str | None = None,
        raise_errors: bool = False,
        as_of: str | dt.date | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Answer | AssistantError]:
        """Answer many questions; the queries are embedded in one batch. A question that
        fails gives its AssistantError in its place (or raises, with ``raise_errors``).
        Time words in a question ("last week", "in 2022") are resolved against ``as_of``
        (default: today) into the publication dates searched; ``since``/``until``
        (YYYY-MM-DD) set them explicitly instead."""
        k = self.settings.k if k is None else k
        mode = retriever or self.settings.retriever
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise AssistantError(f"k must be a whole number between 1 and 50 (got {k!r}).")
        if doc_ids is not None:
            doc_ids = [d for d in doc_ids if d in self.articles]
            if not doc_ids:
                raise QuestionError("No articles are selected: choose at least one article to search.")
        day = parse_as_of(as_of)
        explicit = explicit_range(since, until)
        base = self.searchable() if doc_ids is None else tuple(d for d in doc_ids if d not in self.copy_ids)
        prepared: list[tuple | AssistantError] = []
        for question, history in items:
            try:
                q = self.check_question(question)
                hist = bound_history(history, self.settings)
                scope = recency.scope_question(q, day, explicit, base, self.articles)
                field = asks_about_article(scope.question)
                searched_q = topic_of(scope.question) if field else scope.question
                query, subject = self.follow_up(searched_q, hist)
                prepared.append((q, query, scope, subject, field))
            except AssistantError as e:
                if raise_errors:
                    raise
                prepared.append(e)
        queries = [p[1] for p in prepared if not isinstance(p, AssistantError)]
        vecs = iter(self._embed_queries(queries, mode))
        total = len(self.articles) - len(self.copy_ids)
        out: list[Answer | AssistantError] = []
        for p in prepared:
            if isinstance(p, AssistantError):
                out.append(p)
                continue
            question, query, scope, subject, field = p
            qvec = next(vecs)
            searched = scope.doc_ids
            if not searched:
                answer = abstain(question, query, ())
            elif scope.digest:
                # nothing to search for: the query shown is the question without its time words
                answer = recency.annotate(recency.digest(question, scope.question, searched, self.articles),
                                          self.articles, self.copies, latest=True)
            else:
                restrict = None if len(searched) == total else searched
                found = self.retrieve(scope.question, query, qvec, k, mode, restrict, prefer=subject.doc_ids)
                ranked = self.rank(found)
                answer = self.answer(found, ranked)
                if field:  # "Who wrote the ferry story?": from the article's metadata
                    answer = answer_about_article(field, answer, found.passages[:k], self.articles)
                answer = recency.annotate(answer, self.articles, self.copies,
                                          latest=bool(scope.range and scope.range.latest),
                                          newer=lambda: ranked[0])
            answer = replace(answer, question=question, as_of=day.isoformat(), time_range=scope.range,
                             searched_articles=len(searched), total_articles=total,
                             related=related_passages(answer.hits, self.articles) if answer.abstained else ())
            out.append(recency.explain_scope(answer))
        return out

    def retrieve(self, question: str, query: str, qvec: np.ndarray | None, k: int, mode: str,
                 doc_ids: Collection[str] | None = None, prefer: Sequence[str] = ()) -> Retrieved:
        """The passages for one (already rewritten) query. ``hits`` are diversified (at most
        ``max_chunks_per_doc`` per article first: shown as related, scored as retrieval);
        ``passages`` are the best ``k`` whatever their article, plus the best passage of
        the next articles when ``k`` > 1 (a question may span two): what the answer stage
        reads (``k`` = 1 reads the single best passage). Hits
        from the ``prefer`` articles (the conversation's subject) go first."""
        depth = max(k, self.settings.depth)
        ranked = self.retriever.search(query, qvec, depth, mode, self.settings.candidates, doc_ids, diversified=False)
        if prefer:
            ranked = [h for h in ranked if h.chunk.doc_id in prefer] + [h for h in ranked if h.chunk.doc_id not in prefer]
        rows = diversify(range(len(ranked)), [h.chunk.doc_id for h in ranked], depth, self.settings.max_chunks_per_doc)
        hits = tuple(replace(ranked[i], rank=r) for r, i in enumerate(rows, 1))
        top = {(h.chunk.doc_id, h.chunk.start) for h in ranked[:k]}
        extra = [h for h in hits[:3] if (h.chunk.doc_id, h.chunk.start) not in top] if k > 1 else []
        best = list(ranked[:k]) + extra
        passages = tuple(replace(h, rank=r) for r, h in enumerate(best, 1))
        return Retrieved(question, query, hits, k, qvec, _top_dense(hits, qvec, self.retriever, doc_ids), passages)

    def answer(self, found: Retrieved, ranked=None) -> Answer:
        """The answer stage over retrieved passages (``ranked``: ``self.rank(found)``, when
        already computed, so the sentences are scored once)."""
        return compose(found.question, found.query, found.passages, self.articles, self.lexical.idf, self.scorer,
                       self.policy, found.top_dense, related=found.hits, similarity=self._similarity(found.qvec),
                       article_terms=self.article_terms, ranked=ranked, reader=self.reader)

    def rank(self, found: Retrieved):
        """(candidate sentences of the passages best first, probability the question is answered)."""
        return rank(found.question, found.query, found.passages, self.articles, self.lexical.idf, self.scorer,
                    self.policy, found.top_dense, self._similarity(found.qvec), self.article_terms, self.reader)

    def follow_up(self, question: str, history: Sequence[str]) -> tuple[str, Subject]:
        """The query to search and the conversation's subject (see ``rewrite.resolve``).
        A question naming something its subject's articles never mention changes the subject.
        A short question that does not point back ("Where is the meeting?") but whose words
        are all in the subject's article is searched as asked, in that article first: the
        subject's words would only pull the answer toward the earlier topic."""
        query, subject = resolve(question, history, self._locate, self._names_own_subject)
        own = [n for n in names_in(question) if n not in subject.words]
        if subject.doc_ids and own and not any(set(terms(n)) <= self.article_terms(d) for n in own for d in subject.doc_ids):
            return question, Subject()
        if query != question and subject.doc_ids and not points_back(question):
            words = set(terms(question))
            if words and any(words <= self.article_terms(d) for d in subject.doc_ids):
                return question, subject
        return query, subject

    def _names_own_subject(self, question: str, subject: Subject) -> bool:
        """True when a question that looks like a follow-up names a subject of its own: two
        or more of its content words are in none of the subject's articles (title or text)
        but are in the article the question finds on its own. "What did the union say about
        the factory closure?" after questions about a glacier stands alone; "By how much were
        those plants told to raise their output?" whose words no article explains does not."""
        if not subject.doc_ids:
            return False
        words = set(content_terms(question))
        novel = words - set().union(*(self._terms_with_title(d) for d in subject.doc_ids))
        if len(novel) < 2:
            return False
        found, _ = self._locate(question)
        return bool(found) and found[0] not in subject.doc_ids and len(novel & self._terms_with_title(found[0])) >= 2

    def _terms_with_title(self, doc_id: str) -> set[str]:
        return self.article_terms(doc_id) | set(terms(self.articles[doc_id].title))

    def _locate(self, query: str) -> tuple[tuple[str, ...], str]:
        """The article a query finds first (lexically) and its title and lead."""
        rows = self.retriever.retrievers["bm25"].search(query, None, 5)
        if not rows:
            return (), ""
        doc = self.stored.chunks.doc_id(rows[0][0])
        article = self.articles[doc]
        return (doc,), f"{article.title}\n{article.text[:400]}"

    def features_batch(self, items: Sequence[tuple[str, Sequence[str]]], k: int | None = None):
        """(Retrieved, candidates, feature rows) per question: what the answer stage sees.
        Used to train and inspect the answer scorer."""
        k = k or self.settings.k
        mode = self.settings.retriever
        questions = [self.check_question(q) for q, _ in items]
        resolved = [self.follow_up(q, bound_history(hist, self.settings)) for q, (_, hist) in zip(questions, items)]
        out = []
        for q, (query, subject), qvec in zip(questions, resolved, self._embed_queries([r[0] for r in resolved], mode)):
            found = self.retrieve(q, query, qvec, k, mode, prefer=subject.doc_ids)
            cands = candidates(found.passages, self.articles)
            X = featurize(q, query, cands, self.articles, self.lexical.idf, self._similarity(qvec), found.top_dense,
                          self.article_terms)
            out.append((found, cands, X))
        return out

    def searchable(self) -> tuple[str, ...]:
        """Every article a question may search: all but the syndicated copies (which answer
        through their original). Built once per opened index, not once per question."""
        if self._searchable is None:
            self._searchable = tuple(d for d in self.articles if d not in self.copy_ids)
        return self._searchable

    def article_terms(self, doc_id: str) -> set[str]:
        """The stemmed content terms of an article (cached)."""
        got = self._article_terms.get(doc_id)
        if got is None:
            if len(self._article_terms) > 4096:
                self._article_terms.clear()
            got = self._article_terms[doc_id] = set(terms(self.articles[doc_id].text))
        return got

    def _similarity(self, qvec: np.ndarray | None):
        """cosine(query, stored sentence vector), or None where there is no vector."""
        if qvec is None:
            return None
        vectors, row_of = self.stored.sentence_vectors, self.stored.sentence_row

        def similarity(doc_id: str, start: int, end: int) -> float | None:
            row = row_of(doc_id, start, end)
            return None if row is None else float(vectors[row].astype(np.float32) @ qvec)

        return similarity

    def _embed_queries(self, queries: list[str], mode: str) -> list[np.ndarray | None]:
        if mode == "bm25" or self.encoder is None or not queries:
            if mode != "bm25" and self.encoder is None and queries:
                raise AssistantError("This assistant was opened without a model: use --retriever bm25 or load the model.")
            return [None] * len(queries)
        return list(self.encoder.encode(queries))


class LiveAssistant:
    """The ``Assistant`` of whatever generation the index folder holds now, for a process
    that runs for long (the web app, ``assistant chat``). ``current()`` is called once per
    question: it compares the manifest's stamp (one ``stat``) with the one last seen and,
    when a build committed a new generation, opens it (same settings, encoder, scorer and reader)
    and answers from it from then on. A question already being answered keeps the
    ``Assistant`` it started with; its generation stays on disk through its lease
    (store.py) and is let go when the last such question ends. When the new generation
    cannot be opened, the previous one goes on answering and the problem is logged."""

    def __init__(self, assistant: "Assistant", index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self._current = assistant
        self._stamp = manifest_stamp(self.index_dir)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: str | Path, settings: Settings | None = None, encoder: Encoder | None = None,
             scorer=None, reader=None) -> "LiveAssistant":
        return cls(Assistant.open(index_dir, settings, encoder, scorer, reader), index_dir)

    def current(self) -> "Assistant":
        stamp = manifest_stamp(self.index_dir)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._follow(stamp)
        return self._current

    def _follow(self, stamp) -> None:
        old = self._current
        try:
            if read_manifest(self.index_dir).get("data_dir") != old.manifest.get("data_dir"):
                self._current = Assistant.open(self.index_dir, old.settings, encoder=old.encoder, scorer=old.scorer,
                                               reader=old.reader)
                log.info("switched to the new index generation %s", self._current.manifest.get("data_dir"))
        except AssistantError as e:
            log.warning("the index in %s/ changed but cannot be opened, still answering from the previous one: %s",
                        self.index_dir, e)
        self._stamp = stamp
        if self._current is not old:
            del old  # its lease goes with the last question still using it
            prune(self.index_dir)

    def ask(self, *args, **kwargs) -> Answer:
        return self.current().ask(*args, **kwargs)

    def ask_batch(self, *args, **kwargs):
        return self.current().ask_batch(*args, **kwargs)

    def __getattr__(self, name):  # articles, manifest, settings, encoder, copies, ... of the current one
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)


def check_question(question: str, settings: Settings) -> str:
    """The stripped question, or QuestionError saying what to change."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("The question is empty: type a question about the articles.")
    if len(question) > settings.max_question_chars:
        raise QuestionError(
            f"The question is {len(question):,} characters long; the limit is "
            f"{settings.max_question_chars:,}. Ask a shorter question."
        )
    if not _is_text(question):
        raise QuestionError("The question holds bytes that are not UTF-8 text: retype it (or fix the terminal's encoding).")
    return question.strip()


def _is_text(s: str) -> bool:
    """False when ``s`` holds lone surrogates (undecodable bytes from the command line, or
    "\\ud800" escaped in JSON): the tokenizers cannot take them."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bound_history(history: Sequence[str] | None, settings: Settings) -> list[str]:
    """The turns a follow-up may lean on, bounded: the latest ``max_history_turns`` text
    turns, each cut to ``max_question_chars`` (an earlier question was never longer).
    A huge history therefore costs no more than a short one."""
    if not history:
        return []
    if isinstance(history, str):
        history = [history]
    history = history if isinstance(history, Sequence) else list(history)
    n = settings.max_history_turns
    latest = history[max(0, len(history) - n):]  # not history[-n:]: history[-0:] is all of it
    return [h[: settings.max_question_chars] for h in latest if isinstance(h, str) and _is_text(h[: settings.max_question_chars])]




def _top_dense(hits, qvec, retriever: Retriever, doc_ids) -> float | None:
    """The best cosine similarity of the query to any passage searched (None without a query vector)."""
    if qvec is None:
        return None
    scores = [h.dense_score for h in hits if h.dense_score is not None]
    if scores:
        return max(scores)
    best = retriever.dense.search("", qvec, 1, retriever.rows_for(doc_ids))
    return best[0][1] if best else None
