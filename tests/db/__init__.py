"""Tests of mailer/db/."""
