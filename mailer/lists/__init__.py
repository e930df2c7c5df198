"""The lists stage: list files, subscribers, opt-in, suppression, import and export.

- ``files``: ``lists/<slug>.toml`` parsing and ``mailer lists sync``.
- ``addresses``: email validation and normalisation.
- ``optin``: subscribe, confirm and unsubscribe-by-link (what the web app calls).
- ``people``: the operator's actions on one subscriber (``mailer subscribers …``).
- ``importer`` / ``exporter``: CSV in and out.

Import the module you need (``from mailer.lists import optin``); this package
imports none of them, so the delivery stage can use ``addresses`` without
pulling in opt-in (which queues mail through delivery).

All SQL is in ``mailer.db.subscribers`` and ``mailer.db.imports``.
"""
