"""mailer's test suite; tests/README.md explains the layout."""
