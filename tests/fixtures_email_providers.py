"""Fixtures for email sent through providers (Postmark, Mailgun, Resend): their fake
send APIs (tests/fakes_email.py, with ONEPING_<PROVIDER>_API_URL pointing at them) and
channels configured for each."""

import pytest

from tests.conftest import serving


@pytest.fixture
def postmark(settings):
    """Postmark's email API on loopback."""
    from tests.fakes_email import FakePostmark

    yield from serving(FakePostmark(), settings, "ONEPING_POSTMARK_API_URL")


@pytest.fixture
def mailgun(settings):
    """Mailgun's messages API on loopback (its base URL ends in /v3, as Mailgun's does)."""
    from tests.fakes_email import FakeMailgun

    for server in serving(FakeMailgun()):
        settings.ONEPING_MAILGUN_API_URL = f"{server.url}/v3"
        yield server


@pytest.fixture
def resend(settings):
    """Resend's email API on loopback."""
    from tests.fakes_email import FakeResend

    yield from serving(FakeResend(), settings, "ONEPING_RESEND_API_URL")


def email_channel(account, provider: str, **config):
    """An email channel of `account` through `provider` ("postmark", "mailgun", "resend"),
    with its config of tests/fakes_email.py (tracking off) and `config` on top: the one
    place provider channels are made, for sending and for tracking tests alike."""
    from channels_app.models import ChannelConfig
    from tests import fakes_email

    base = getattr(fakes_email, f"{provider.upper()}_CONFIG")
    config = {**base, "track_opens": False, "track_clicks": False, **config}
    return ChannelConfig.objects.create(account=account, kind="email", config=config)


@pytest.fixture
def postmark_channel(account):
    """Email through Postmark for `account` (add the `postmark` fake to send)."""
    return email_channel(account, "postmark")


@pytest.fixture
def mailgun_channel(account):
    """Email through Mailgun for `account` (add the `mailgun` fake to send)."""
    return email_channel(account, "mailgun")


@pytest.fixture
def resend_channel(account):
    """Email through Resend for `account` (add the `resend` fake to send)."""
    return email_channel(account, "resend")
