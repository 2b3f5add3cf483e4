"""Errors a user can cause. Front ends turn them into one clear line; they never carry secrets."""


class KildeError(Exception):
    """Base for errors shown to the user as one line."""

    exit_code = 1


class UsageError(KildeError):
    """Bad input from the user: an empty question, a missing token, a bad setting."""

    exit_code = 2


class StoreError(KildeError):
    """The index cannot be opened, read or written."""


class ModelError(KildeError):
    """The language model server failed, timed out or answered garbage."""


class EmbedError(KildeError):
    """The embedding server failed, timed out or answered garbage."""
