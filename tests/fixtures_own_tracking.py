"""Fixtures for oneping's own open pixel and click links for SMTP and platform mail."""
