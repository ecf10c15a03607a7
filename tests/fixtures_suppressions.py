"""Fixtures for the suppression list: provider reports applied at once (as their task
would), and rows of the list itself for the API, dashboard and admin tests.

Email through Postmark (its fake send API and channel) is tests/fixtures_email_providers.py's;
its bounces and complaints are posted, signed, to the channel's real tracking webhook
(tests/fixtures_email_tracking.py).
"""

import pytest

from channels_app.callbacks import processing
from channels_app.models import ProviderReport, Suppression


@pytest.fixture
def apply_report():
    """Apply a stored report at once, as its task would (no worker needed)."""

    def apply(report: ProviderReport) -> ProviderReport:
        processing.apply_now(report.pk)
        report.refresh_from_db()
        return report

    return apply


@pytest.fixture
def make_suppression(db):
    """A row of an account's list, as the service stores it (normalised address)."""

    def make(account, channel: str, address: str, reason: str = "hard_bounce", **fields):
        return Suppression.objects.create(
            account=account, channel=channel, address=address, reason=reason, **fields
        )

    return make
