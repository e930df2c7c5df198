"""The error hierarchy: every error a user can cause, in this one module.

Every error a user can cause by bad input is a ``MailerError``: it carries a
message written for that user in the words of the domain (lists, sends,
issues), and two class attributes for the front doors: ``exit_code`` (the CLI
prints one ``Error: …`` line and exits with it) and ``http_status`` (the web
app's one handler, ``mailer.web.errors``, answers with it). Anything else
escaping is a bug and keeps its traceback.

Messages never name a command, a flag or a form control. What the user can
do next is a ``Hint``, and which input was wrong is ``field``: the CLI words
them as commands and flags (``mailer.cli.hints``), the web app as its own
pages and controls, or not at all.

Private control-flow exceptions stay beside the code that raises and catches
them, since no user ever sees them: ``deliver.transports.smtp._Dropped``,
``deliver.engine._NotHanded``, ``doctor.dns.CouldNotCheck`` and the web's
``TooManyRequests`` (a Starlette ``HTTPException``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailer.compose.lint import LintResult
    from mailer.content.folder import FileProblem


class Hint(StrEnum):
    """What the user can do about an error; each front door words it its own way."""

    UPGRADE_DATABASE = "upgrade-database"  # migrate the schema
    SYNC_LISTS = "sync-lists"  # a list file was added but not applied
    LIST_SENDS = "list-sends"  # look the send up among the sends
    SEND_AGAIN = "send-again"  # send an issue to a list it already went to
    NEW_SEND = "new-send"  # a cancelled send: make a new one
    UNSUPPRESS = "unsuppress"  # lift an operator's suppression
    SEND_CONFIRMATION = "send-confirmation"  # mail an unsubscribed person a confirmation link
    SES_STATUS = "ses-status"  # the SES account's quota and state
    SES_SETUP = "ses-setup"  # create the feedback topic and queue
    CHOOSE_ENCODING = "choose-encoding"  # the CSV is in another encoding
    REPLACE_USER = "replace-user"  # set a new password for an existing login
    OVERRIDE_BREAKER = "override-breaker"  # resume a send its circuit breaker paused


class MailerError(Exception):
    """Base of every user-facing error.

    ``hint`` says what the user can do next and ``field`` which input was
    wrong ("when", "timezone", "encoding"); both are for the front doors to
    word, and neither is part of ``message``.
    """

    exit_code = 1
    http_status = 400

    def __init__(self, message: str, *, hint: Hint | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def __str__(self) -> str:
        return self.message

    def worded(self, fields: Mapping[str, str], hints: Mapping[Hint, str]) -> str:
        """The message as one front door words it: the name it gives the field
        first, its wording of the hint after (a hint it has no words for adds
        nothing)."""
        text = self.message
        name = fields.get(self.field)
        if name:
            text = f"{name}: {text}"
        if self.hint is not None:
            text += hints.get(self.hint, "")
        return text


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

    http_status = 422

    def __init__(
        self, problems: Sequence[Problem], *, hint: Hint | None = None, field: str = ""
    ) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        super().__init__(head + more, hint=hint, field=field)


class NotFoundError(MailerError):
    """A named thing (issue, list, send, subscriber) does not exist."""

    http_status = 404


class ConflictError(MailerError):
    """The action conflicts with the current state (e.g. a send already made)."""

    http_status = 409


class DeliveryError(MailerError):
    """A transport could not deliver and the cause is the operator's to fix."""


class EventError(MailerError):
    """A feedback event or webhook request was refused (``http_status`` per instance)."""

    def __init__(self, message: str, http_status: int = 400, *, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.http_status = http_status


# --- content and compose -------------------------------------------------------------


class SaveRefused(MailerError):
    """A save would make the issue invalid; nothing was written."""

    http_status = 422

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__(f"not saved: {len(problems)} problem{'s' if len(problems) != 1 else ''}")


class TemplateError(MailerError):
    """A template is missing, broken, or uses a variable nobody defines."""


class LintFailed(MailerError):
    """The composed email has lint errors; nothing was written."""

    def __init__(self, results: list[LintResult]) -> None:
        self.results = results
        errors = [r for r in results if r.level == "error"]
        super().__init__(
            f"{len(errors)} lint error{'s' if len(errors) != 1 else ''}: {errors[0].message}"
        )


# --- lists ----------------------------------------------------------------------------


class InvalidEmail(MailerError):
    """An address is not a valid email address; the message says why."""


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported; nothing was written."""

    def __init__(
        self, file: Path, where: str, message: str, *, hint: Hint | None = None, field: str = ""
    ) -> None:
        super().__init__([Problem(str(file), where, message)], hint=hint, field=field)


class InvalidToken(MailerError):
    """A subscriber link is forged, damaged or expired."""


class UserError(MailerError):
    """A web username or password that cannot be accepted (``mailer.accounts``)."""


# --- deliver --------------------------------------------------------------------------


class UnsafeHeader(MailerError):
    """A header value holds a line break (it could inject headers) or is malformed."""


class WorkerBusy(ConflictError):
    """Another worker holds the SQLite database."""


class TemporaryFailure(DeliveryError):
    """The provider asked us to try again later (4xx, throttling)."""


class PermanentFailure(DeliveryError):
    """The provider refused this recipient for good (5xx, MessageRejected)."""


class SendingPaused(DeliveryError):
    """The provider refuses all sending until the operator acts."""


class UncertainDelivery(DeliveryError):
    """The connection broke after the message was handed over: it may have gone out.

    The engine records the recipient as ``uncertain`` and never re-sends it
    silently.
    """


# --- events ---------------------------------------------------------------------------


class ParseError(EventError):
    """A payload is not SES feedback we understand; ``path`` names the field."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message, http_status=400)
        self.path = path


class Refused(EventError):
    """An SNS request that must not be acted on: 400 for broken, 403 for untrusted."""


class AwsError(MailerError):
    """An AWS call failed for a reason the operator must fix (credentials, permissions)."""
