"""Fixtures for the suppression list."""
