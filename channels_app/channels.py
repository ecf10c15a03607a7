"""The actions on a channel: create, update, delete, send a test; and how its config is shown.

The API (channels_app.views through its serializer), the dashboard (channels_app.dashboard,
through the same serializer) call these; neither saves on its own. Configs arrive cleaned by
channels_app.channel_config (the serializer's validation). Errors are ServiceErrors: the API
answers them in the documented JSON shape, the dashboard next to the form or as a notice.

Tests are free (they skip the monthly quota, as the README promises), so they are capped
per channel and UTC day instead (`ONEPING_TEST_SENDS_PER_DAY`, 20): without a cap a free
account could send without limit by calling test in a loop. A test through the platform's
own mail is further restricted in channels_app.platform_mail.
"""

import math
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.limits import day_window, limit_for
from accounts.models import Account, ApiKey
from accounts.permissions import Role, has_role
from accounts.scopes import Scope
from channels_app.accepting import Accepted, accept_message
from channels_app.integrations import base, get_integration
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.models import ChannelConfig, Message
from oneping.crypto import mask
from oneping.errors import ServiceError

TEST_MESSAGE = "Test message from oneping: this channel works."
DEFAULT_RECIPIENT = "test"


def create_channel(account: Account, kind: str, config: dict[str, Any]) -> ChannelConfig:
    """Configure `kind` for the account: one channel per kind (409 when it has one). In a
    test environment, a channel a send made on the fly (ChannelConfig.simulated) is
    adopted: it takes the config, so the README's walkthrough runs unchanged with a test
    key; its deliveries still go to the simulator."""
    if not account.livemode:
        with transaction.atomic():
            adopted = (
                ChannelConfig.objects.select_for_update()
                .filter(account=account, kind=kind, simulated=True)
                .first()
            )
            if adopted is not None:
                adopted.config = config
                adopted.simulated = False
                adopted.save(update_fields=["config", "simulated", "updated_at"])
                return adopted
    if ChannelConfig.objects.filter(account=account, kind=kind).exists():
        raise already_configured(kind)
    try:
        with transaction.atomic():
            return ChannelConfig.objects.create(account=account, kind=kind, config=config)
    except IntegrityError:  # created concurrently (one_config_per_kind)
        raise already_configured(kind) from None


def update_channel(channel: ChannelConfig, config: dict[str, Any]) -> ChannelConfig:
    channel.config = config
    channel.simulated = False  # configured now: the customer's own
    channel.save(update_fields=["config", "simulated", "updated_at"])
    return channel


def delete_channel(channel: ChannelConfig) -> None:
    channel.delete()


def already_configured(kind: str) -> ServiceError:
    return ServiceError(
        "channel_already_configured",
        f"This account already has a {kind} channel; update it instead.",
        status=409,
        details={"kind": kind},
    )


def shown_config(channel: ChannelConfig) -> dict[str, Any]:
    """The config as the API and the dashboard show it: secrets masked to their last four."""
    secrets = get_integration(channel.kind).secret_fields
    return {
        key: mask(value) if key in secrets and value else value
        for key, value in channel.config.items()
    }


def status_callback_url(channel: ChannelConfig, request: HttpRequest | None = None) -> str | None:
    """Where the channel's provider reports delivery statuses, as the API and the dashboard
    show it (to paste into Meta's app; Twilio is told with each send); None for a kind
    whose provider reports nothing."""
    provider = get_integration(channel.kind).status_callback_provider(channel.config)
    if provider is None:
        return None
    return base.status_callback_url(provider, channel.callback_token, request)


def tracking_webhook_url(channel: ChannelConfig, request: HttpRequest | None = None) -> str | None:
    """Where an email provider posts the channel's tracking events, ready to paste into its
    webhook settings: the status callback URL, with the HTTP basic-auth credentials inside
    for a provider that authenticates that way (Postmark). None for other channels.

    With credentials inside it is a secret: callers show it only to whoever may see secrets
    (may_see_secrets), as the API's create answer and an owner's or admin's page do.
    """
    if channel.kind != "email":
        return None
    name = get_integration(channel.kind).status_callback_provider(channel.config)
    provider = get_callback_provider(name) if name else None
    url = status_callback_url(channel, request)
    if provider is None or url is None:
        return None
    credentials = provider.url_credentials(channel.callback_token)
    if not credentials:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{credentials}@{rest}"


def may_see_secrets(request: HttpRequest | None) -> bool:
    """Whether the caller may read secrets: an API key with the `admin` scope (the scope of
    the GETs that reveal one, accounts.scopes), or an owner or admin in the dashboard."""
    if request is None:
        return False
    api_key = getattr(request, "auth", None)
    if isinstance(api_key, ApiKey):
        return Scope.ADMIN.value in api_key.scopes
    return has_role(getattr(request, "membership", None), Role.ADMIN)


class TestLimitExceeded(ServiceError):
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, channel: ChannelConfig, limit: int, resets_at):
        retry_after = max(math.ceil((resets_at - timezone.now()).total_seconds()), 1)
        super().__init__(
            "test_limit_exceeded",
            f"This {channel.kind} channel has sent its {limit} test messages today; "
            f"tests are free but capped, and the count resets at {resets_at:%Y-%m-%d %H:%M} "
            "UTC.",
            status=429,
            details={
                "channel": channel.kind,
                "limit": limit,
                "resets_at": resets_at.isoformat().replace("+00:00", "Z"),
            },
            headers={"Retry-After": str(retry_after)},
        )


def tests_sent_today(account: Account, kind: str) -> int:
    start, _ = day_window()
    # Counted by kind, not by config row: deleting and re-creating the channel must not
    # reset the count. message_log_created (account, created_at) narrows the scan to today.
    return Message.objects.filter(
        account=account, created_at__gte=start, is_channel_test=True, deliveries__channel=kind
    ).count()


def send_test(account: Account, channel: ChannelConfig, recipient: str = "") -> Accepted:
    """Queue a one-attempt test message on `channel`, not counted against the quota.

    Raises TestLimitExceeded (429) past the daily cap, and what accept_message raises
    (recipient_unresolved, test_recipient_not_allowed, owner_not_verified, …)."""
    payload = {
        "message": TEST_MESSAGE,
        "channels": [channel.kind],
        "recipient": recipient or DEFAULT_RECIPIENT,
        "retry": False,
    }
    with transaction.atomic():
        # Concurrent tests of one channel count one after the other (SQLite's BEGIN
        # IMMEDIATE already serialises writers; PostgreSQL needs the row lock).
        ChannelConfig.objects.select_for_update().filter(pk=channel.pk).values_list("pk").first()
        limit = limit_for(account, "test_sends_per_day")
        if tests_sent_today(account, channel.kind) >= limit:
            raise TestLimitExceeded(channel, limit, day_window()[1])
        return accept_message(account, payload, count_quota=False, is_channel_test=True)
