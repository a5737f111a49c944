"""Training, apart from what runs at question time.

- ``answer_scorer``: trains the answer stage's scorer into ``models/answer-scorer/``
  (``python -m assistant.training.answer_scorer``, or ``make train``).

Imports the stages, ``engine`` and ``evaluation``; nothing at question time imports it."""

__all__ = ["answer_scorer"]
