"""The command line: ``assistant index|ask|chat|prepare-model|eval`` (``main``).

- ``commands``: the argparse subcommands; each imports the heavy modules only when it runs.
- ``chat``: the terminal conversation and the plain-text answer format (``run_chat``, ``format_answer``).
- ``written``: the checked written answer (``--llm``) as plain text (``format_written``).

A shell: imports anything below it, and nothing imports it but ``app.py`` and ``__main__``."""
from .commands import main

__all__ = ["chat", "commands", "main", "written"]
