"""Answer: the retrieved passages → an ``Answer`` of verbatim, cited quotes, or an abstention.

- ``question``: what a question asks for (``question_type``).
- ``span``: the part of a quoted sentence that answers it (``answer_span``, ``mark``).
- ``features``: one row of numbers per candidate sentence (``candidates``, ``featurize``, ``FEATURES``).
- ``reader``: the reading model from ``models/reader/`` — a small cross-encoder run by onnxruntime that
  reads the question against the best candidates and marks the answer span (``load_reader``).
- ``scorer``: the learned ranker and answerability model from ``models/answer-scorer/`` (``load_scorer``).
- ``policy``: rank, choose one or two sentences, or abstain (``AnswerPolicy``, ``rank``, ``compose``, ``abstain``).
- ``recency``: news metadata on citations, newer reports first, time scopes (``annotate``, ``scope_question``).
- ``aboutarticle``: questions about an article itself — who wrote it, when (``answer_about_article``).

Imports the shared top-level modules, ``ingest.newsmeta`` and ``search.timeparse``.
Its training lives apart, in ``assistant.training``."""

__all__ = ["aboutarticle", "features", "policy", "question", "reader", "recency", "scorer", "span"]
