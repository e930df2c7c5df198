"""Tests of mailer/draft/."""
