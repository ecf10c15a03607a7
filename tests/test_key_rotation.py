"""manage.py rotate_encryption_keys: every stored secret moves to the first key, so the
others can be dropped."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from channels_app.models import ChannelConfig, Contact, Delivery, Message
from oneping.key_rotation import _raw, encrypted_fields
from webhooks.models import InboundEndpoint, SigningSecret, WebhookEndpoint

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()

# What each secret reads as: (model, field) -> plaintext.
PLAINTEXTS = {
    (ChannelConfig, "config"): {"webhook_url": "https://hooks.slack.com/services/T0/B0/SECRET"},
    (Contact, "addresses"): {"discord": "https://discord.com/api/webhooks/1/CONTACTSECRET"},
    (Delivery, "target"): "https://hooks.slack.com/services/T1/B1/TARGETSECRET",
    (WebhookEndpoint, "secret"): "whsec_current",
    (WebhookEndpoint, "previous_secret"): "whsec_previous",
    (InboundEndpoint, "secret"): "shpss_inbound",
    (InboundEndpoint, "token"): "inbound-url-token",
    (SigningSecret, "secret"): "whsec_signing",
}


def make_secrets(account) -> dict:
    """One row for every encrypted field, written under whatever keys are set now."""
    config = ChannelConfig.objects.create(
        account=account, kind="slack", config=PLAINTEXTS[(ChannelConfig, "config")]
    )
    contact = Contact.objects.create(
        account=account, identifier="ops", addresses=PLAINTEXTS[(Contact, "addresses")]
    )
    message = Message.objects.create(account=account, recipient="ops", body="hi")
    delivery = Delivery.objects.create(
        account=account, message=message, channel="slack", target=PLAINTEXTS[(Delivery, "target")]
    )
    endpoint = WebhookEndpoint.objects.create(
        account=account,
        url="https://example.com/hooks",
        secret=PLAINTEXTS[(WebhookEndpoint, "secret")],
        previous_secret=PLAINTEXTS[(WebhookEndpoint, "previous_secret")],
    )
    inbound = InboundEndpoint.objects.create(
        account=account,
        name="Shop",
        verification="shopify",
        secret=PLAINTEXTS[(InboundEndpoint, "secret")],
        token=PLAINTEXTS[(InboundEndpoint, "token")],
        token_hash="h",
    )
    signing = SigningSecret.objects.create(
        account=account, secret=PLAINTEXTS[(SigningSecret, "secret")]
    )
    return {
        ChannelConfig: config,
        Contact: contact,
        Delivery: delivery,
        WebhookEndpoint: endpoint,
        InboundEndpoint: inbound,
        SigningSecret: signing,
    }


def stored_tokens() -> dict[str, list[str]]:
    """Every encrypted column of every model, as stored."""
    return {
        f"{model._meta.label}.{field.name}": list(
            model._base_manager.exclude(**{f"{field.attname}__isnull": True}).values_list(
                _raw(field), flat=True
            )
        )
        for model, field in encrypted_fields()
    }


def rotate() -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", "--batch", "2", stdout=out)
    return out.getvalue()


def test_rotating_to_a_new_key_lets_the_old_one_be_dropped(db, settings, make_account):
    # Given secrets written under key A alone
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_A]
    rows = make_secrets(make_account())
    ChannelConfig.objects.create(account=rows[Contact].account, kind="discord", config={})

    # when B is put first and the command runs
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    report = rotate()

    # then A can be dropped: every stored token reads with B alone, and every secret too.
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_B]
    only_b = Fernet(KEY_B.encode())
    for tokens in stored_tokens().values():
        for token in tokens:
            only_b.decrypt(token.encode())  # raises InvalidToken if A was still needed
    for (model, field), plaintext in PLAINTEXTS.items():
        assert getattr(model.objects.get(pk=rows[model].pk), field) == plaintext, field
    assert "channels_app.ChannelConfig.config: 2 re-encrypted, 0 already on the first key" in report
    assert "webhooks.WebhookEndpoint.previous_secret: 1 re-encrypted" in report
    assert "Done: 9 secrets re-encrypted." in report
    for model, field in encrypted_fields():  # every encrypted field is reported, found by type
        assert f"{model._meta.label}.{field.name}: " in report

    # A second run finds nothing to do.
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    again = rotate()
    assert "Done: 0 secrets re-encrypted." in again
    assert "channels_app.ChannelConfig.config: 0 re-encrypted, 2 already on the first key" in again


def test_a_secret_no_key_reads_stops_the_command_and_is_counted(db, settings, make_account):
    account = make_account()
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_A]
    WebhookEndpoint.objects.create(account=account, url="https://example.com/a", secret="one")
    settings.ONEPING_ENCRYPTION_KEYS = [KEY_B]  # A forgotten: that row is lost to us
    WebhookEndpoint.objects.create(account=account, url="https://example.com/b", secret="two")

    out = StringIO()
    with pytest.raises(CommandError, match="2 stored secrets could not be decrypted"):
        call_command("rotate_encryption_keys", stdout=out)
    for field in ("secret", "previous_secret"):  # endpoint a's; b's are under B
        assert (
            f"webhooks.WebhookEndpoint.{field}: 0 re-encrypted, 1 already on the first key, "
            "0 changed meanwhile, 1 unreadable"
        ) in out.getvalue()
