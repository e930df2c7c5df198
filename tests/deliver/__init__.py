"""Tests of mailer/deliver/."""
