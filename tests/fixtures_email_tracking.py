"""Fixtures for email providers' tracking webhooks (signed posts in each provider's shape)."""
