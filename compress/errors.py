"""The one error type the CLI formats: what went wrong, where, and how to fix it."""

from __future__ import annotations


class CompressError(Exception):
    """A user-facing error: bad input, bad config, a missing package.

    The CLI prints ``message`` (and ``hint`` when given) and exits with code 2.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(CompressError):
    """A config key or value is wrong."""
