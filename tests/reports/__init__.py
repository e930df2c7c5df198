"""Tests of mailer/reports/."""
