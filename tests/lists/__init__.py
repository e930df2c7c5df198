"""Tests of mailer/lists/."""
