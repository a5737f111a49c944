"""Process-wide runtime helpers shared by every edge (CLI, web app, benchmarks)."""
from __future__ import annotations

import os


def quiet_libraries() -> None:
    """Keep library chatter (model-loading bars, tokenizer warnings) off the terminal.
    Runs at the edge only, never at import time."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
