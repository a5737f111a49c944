"""Errors a user can act on. Each message says what went wrong and what to do; the CLI
and the UI print ``str(error)`` as one line, never a traceback."""


class AssistantError(Exception):
    """Base class: the message is meant for the user and says how to fix the problem."""


class CorpusError(AssistantError):
    """The corpus is missing, empty or unreadable."""


class IndexNotFoundError(AssistantError):
    """No usable index at the given place."""


class IndexMismatchError(AssistantError):
    """The index was built with another model, format or chunk settings."""


class IndexCorruptError(AssistantError):
    """The index files are partial or damaged."""


class IndexWriteError(AssistantError):
    """The index cannot be written (read-only or full disk, a file in the way)."""


class SettingsError(AssistantError):
    """A setting (an ``ASSISTANT_*`` variable or a flag) has a wrong value."""


class ModelError(AssistantError):
    """The embedding model could not be loaded."""


class QuestionError(AssistantError):
    """The question is empty, too long or otherwise unusable."""


class EvalFileError(AssistantError):
    """An evaluation file is empty or malformed."""
