"""Helpers the tests import, one plain-named module each: ``from tests.support.web import …``.

``<stage>.py`` (compose, content, deliver, doctor, draft, events, lists,
reports, web) is the kit of ``tests/<stage>/``, the others serve every stage:
``paths`` (where things are), ``peers`` (PostgreSQL, Chromium, free ports and
``need``), ``aws`` (moto), ``certs``, ``rows`` and ``engagement``. Fixtures
are not here but in the ``conftest.py`` of the folder whose tests share them.
"""
