"""Errors meant for the user: the CLI prints their message as one line and exits non-zero."""


class BroadsheetError(Exception):
    """A failure the user can fix; the message says what happened and what to do."""

    exit_code = 1


class ConfigError(BroadsheetError):
    exit_code = 2


class InputError(BroadsheetError):
    exit_code = 3


class StrictModeError(BroadsheetError):
    exit_code = 4
