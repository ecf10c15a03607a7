"""The provider simulator: what test mode's deliveries reach instead of a provider
(accounts.environments). Magic recipients choose each outcome (magic.py)."""
