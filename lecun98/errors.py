"""User-facing errors: the CLI prints the message as one line and exits non-zero."""


class Lecun98Error(Exception):
    """A problem the user can fix (bad argument, missing or corrupt file). Never a bug."""


class DataError(Lecun98Error):
    """A dataset file is missing, truncated or altered."""
