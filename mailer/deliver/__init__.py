"""Delivery: sends, personalisation, MIME messages, transports and the worker.

Where each rule lives:

- ``freeze``: compose an issue for a list (its sender name and postal
  address), refuse it with lint errors, snapshot its web version; the list
  fit warnings. Every front door freezes through it.
- ``sends``: create, schedule and re-freeze a send; test copies and the one
  check of test addresses; pause, resume, cancel, retry.
- ``overview``: how the sends stand (the sends list, one send in detail,
  each issue's state), as plain dataclasses for the web app and the CLI.
- ``engine`` and ``worker``: the delivery loop, leases, crash safety;
  ``queue``: the mail queue (confirmations) and its overview.
- ``guardrails``: the circuit breaker; ``mime``, ``tokens``, ``transports``:
  the messages and how they leave.
"""
