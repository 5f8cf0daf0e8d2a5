"""Errors a user can act on; the CLI prints their message and exits non-zero."""


class QAError(Exception):
    """Base class: the message says what went wrong and what to do next."""


class IndexUnusableError(QAError):
    """An index directory is missing, corrupt, outdated or built with another encoder."""


class CorpusError(QAError):
    """A corpus directory is missing or holds no readable document."""


class QuestionError(QAError):
    """A question that cannot be asked (empty, too long)."""


class ConfigError(QAError, ValueError):
    """A setting that cannot be used (unknown name or value, weights of the wrong length)."""


class DocumentError(QAError, ValueError):
    """A document id that is not in the index."""


class BackendError(QAError):
    """A search server cannot be used: unreachable, too slow, refusing the credentials."""
