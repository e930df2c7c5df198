"""Delivery: sends, personalisation, MIME messages, transports and the worker."""
