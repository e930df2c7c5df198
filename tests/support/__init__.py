"""Test kits shared by more than one stage's tests."""
