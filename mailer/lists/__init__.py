"""The lists stage: list files, subscribers, opt-in, suppression, import and export.

- ``files``: ``lists/<slug>.toml`` parsing and ``mailer lists sync``.
- ``addresses``: email validation and normalisation.
- ``optin``: subscribe, confirm, and the one unsubscribe by link (page and
  one-click), which credits the send that brought the message.
- ``public``: the lists as visitors see them, and a reader's preferences.
- ``overview``: counts per list and browsing subscribers (the operator's view).
- ``people``: the operator's actions on one subscriber (``mailer subscribers …``),
  and what was sent to them.
- ``erasure``: what forgetting a person erases beyond their subscriber row (the
  address in past sends, feedback events and queued mail).
- ``welcome``: each list's welcome mail.
- ``importer`` / ``exporter``: CSV in and out.

Import the module you need (``from mailer.lists import optin``); this package
imports none of them, so the delivery stage can use ``addresses`` without
pulling in opt-in (which queues mail through delivery).

These services own their transactions; all SQL is in the stores
``mailer.db.subscribers``, ``browse``, ``history``, ``imports`` and ``welcomes``.
"""
