"""Tests of mailer/doctor/."""
