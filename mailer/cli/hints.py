"""The command line's words for an error's hint and field.

Domain errors say what is wrong in the domain's words and carry a ``Hint``
(what the user can do next) and a ``field`` (which input was wrong); here the
CLI words them as its flags and commands. The web app words the same hints
as its own controls (``mailer.web.pages``).
"""

from __future__ import annotations

from mailer.errors import Hint, MailerError

# Input -> the flag that gives it.
FLAGS = {
    "when": "--at",
    "timezone": "--tz",
}

# Hint -> the text appended to the message, its punctuation included.
HINTS = {
    Hint.UPGRADE_DATABASE: ": run mailer db upgrade",
    Hint.SYNC_LISTS: " (run `mailer lists sync` after adding it)",
    Hint.LIST_SENDS: " (see `mailer sends list`)",
    Hint.SEND_AGAIN: "; use --again to send it once more",
    Hint.NEW_SEND: "; start a new send with --again",
    Hint.UNSUPPRESS: " (`mailer subscribers unsuppress` lifts that)",
    Hint.SEND_CONFIRMATION: ": use --send-confirmation to mail them a confirmation link",
    Hint.SES_STATUS: " (`mailer ses status` shows it)",
    Hint.SES_SETUP: ": run `mailer ses setup` and put the queue URL it prints there",
    Hint.CHOOSE_ENCODING: ", or pass --encoding (e.g. latin-1)",
    Hint.REPLACE_USER: " (use --replace to reset)",
    Hint.OVERRIDE_BREAKER: "; to send on regardless, resume with --override",
}


def error_line(exc: MailerError) -> str:
    """``exc``'s message as the CLI shows it: its flag first, its hint as a command after."""
    return exc.worded(FLAGS, HINTS)
