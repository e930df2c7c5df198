"""The `mailer` command as a whole (mailer/cli/): help, the command map, a fresh database."""
