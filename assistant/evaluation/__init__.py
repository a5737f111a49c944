"""Evaluation: question sets in, a scored report out.

- ``sets``: read JSONL and SQuAD eval files (``load_eval_file``, ``EvalQuestion``).
- ``metrics``: pure per-question scores and their summary (``score_question``, ``summarize``).
- ``evaluate``: run a set through ``Assistant``, score it, write the report (``evaluate_file``, ``run_eval``).
- ``written``: with ``--llm``, the same metrics on the checked written answers, and what the checker did (``written_eval``).

Imports the stages and ``engine`` (never the shells)."""

__all__ = ["evaluate", "metrics", "sets", "written"]
