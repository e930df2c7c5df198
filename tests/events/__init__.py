"""Tests of mailer/events/."""
