"""How the `streaming` command reports a failure: one line saying what is wrong, and a hint.

Commands raise `CLIError` (or `UsageError` for bad arguments) with a hint; `describe` turns the
library's own exceptions into the same shape, so no user sees a traceback unless they ask for
one with ``--debug``.
"""

from __future__ import annotations

#: Exit codes: a failure, and bad arguments (argparse's own code for them).
FAILURE = 1
USAGE = 2
INTERRUPTED = 130


class CLIError(Exception):
    """A failure to report as ``error: <message>`` and ``hint: <hint>``, exiting with `code`."""

    code = FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(CLIError):
    """Bad arguments: exit code 2, as argparse uses."""

    code = USAGE


def describe(err: BaseException) -> tuple[str, str, int]:
    """(message, hint, exit code) for any exception a command lets through."""
    from streaming.datasets.convert.base import ConversionError, RawDataError
    from streaming.format.errors import FormatError, HashMismatchError
    from streaming.storage.base import StorageAuthError, StorageError

    message = str(err) or type(err).__name__
    if isinstance(err, CLIError):
        return message, err.hint or "", err.code
    if isinstance(err, RawDataError):
        return message, "`streaming convert DATASET --help` describes the raw layout", FAILURE
    if isinstance(err, ConversionError):
        return message, "finished parts are kept; fix the cause and re-run to continue", FAILURE
    if isinstance(err, HashMismatchError):
        return message, "`streaming verify URL` lists every bad shard", FAILURE
    if isinstance(err, FormatError):
        return (
            message,
            "`streaming inspect URL` and `streaming verify URL` check a dataset",
            FAILURE,
        )
    if isinstance(err, StorageAuthError):
        return message, "check the credentials for this bucket", FAILURE
    if isinstance(err, FileNotFoundError | StorageError):
        return message, "check the path or URL", FAILURE
    if isinstance(err, ImportError):
        return message, "install the extra the message names", FAILURE
    if isinstance(err, MemoryError):
        return "out of memory", "use fewer workers or smaller shards", FAILURE
    return f"{type(err).__name__}: {message}", "run again with --debug to see the traceback", 1
