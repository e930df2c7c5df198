"""The error hierarchy.

Every error a user can cause by bad input is a ``MailerError``: it carries a
message written for that user, and the CLI prints it as one ``Error: …`` line
with the error's exit code (the web app renders it through one handler).
Anything else escaping is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MailerError(Exception):
    """Base of every user-facing error."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(MailerError):
    """The configuration file or a ``MAILER_*`` variable is wrong."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file: where, and what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ValidationError(MailerError):
    """An input file (issue, list, CSV) has one or more problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        super().__init__(head + more)


class NotFoundError(MailerError):
    """A named thing (issue, list, send, subscriber) does not exist."""


class ConflictError(MailerError):
    """The action conflicts with the current state (e.g. a send already made)."""


class DeliveryError(MailerError):
    """A transport could not deliver and the cause is the operator's to fix."""


class EventError(MailerError):
    """A feedback event or webhook request was refused."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UserError(MailerError):
    """A web username or password that cannot be accepted (``mailer.accounts``)."""
