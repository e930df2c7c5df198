"""Tests of mailer/web/."""
