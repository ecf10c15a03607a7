"""Billing through Stripe (issue #21): Checkout for upgrades, the Billing Portal for card,
plan and cancellation, and Stripe's signed webhooks for what happened.

- client.py: the Stripe API client (timeouts, few retries, errors that never name the key);
- services.py: start_checkout, open_portal (one service per action: API and dashboard);
- receiving.py: the webhook's verify → store → enqueue;
- processing.py: a stored event applied to its account, in a worker;
- emails.py: what owners and admins are told.
"""
