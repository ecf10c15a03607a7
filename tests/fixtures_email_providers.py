"""Fixtures for email sent through providers (Postmark, Mailgun, Resend): their fake
send APIs and channels."""
