"""A small frozen issue for delivery tests."""

from types import SimpleNamespace

ISSUE = SimpleNamespace(
    slug="fault-issue",
    subject="Crash-safe news",
    html="<p>Hi %%subscriber.name%%</p><a href='%%unsubscribe_url%%'>unsubscribe</a>",
    text="Hi %%subscriber.name%%\nUnsubscribe: %%unsubscribe_url%%\n",
)
