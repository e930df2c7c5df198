"""Tests of mailer/compose/."""
