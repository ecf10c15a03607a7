"""Rules for mail sent through the platform's own SMTP settings (provider "platform").

That mail leaves from our domain, so a free sign-up must not turn it into an open relay:
- an account whose owner has not verified their email sends nothing through it (403
  `owner_not_verified`, at acceptance, so the caller learns it at once rather than from a
  failed delivery);
- a channel test through it goes only to a verified address of one of the account's
  members (400 `test_recipient_not_allowed`): tests are free and skip the quota.
Accounts with their own SMTP server or email provider are not affected.
"""

from accounts import verification
from accounts.models import Account
from channels_app.addresses import Route
from channels_app.integrations.email.providers import provider_name
from channels_app.models import ChannelConfig
from oneping.errors import ServiceError


def uses_platform_mail(config: ChannelConfig) -> bool:
    return config.kind == "email" and provider_name(config.config) == "platform"


def check_routes(
    account: Account,
    routes: list[Route],
    configs: dict[str, ChannelConfig],
    *,
    is_channel_test: bool,
) -> None:
    """Refuse a message that would use the platform's mail where the rules above forbid.
    A test environment's mail is simulated, never mailed: no rule applies."""
    if not account.livemode:
        return
    platform = [route for route in routes if uses_platform_mail(configs[route.channel])]
    if not platform:
        return  # the common case costs no query
    if not verification.owner_is_verified(account):
        raise ServiceError(
            "owner_not_verified",
            "The platform's mail is available once the account owner has verified their "
            "email address (follow the link in the confirmation email), or configure the "
            "email channel with your own SMTP server or email provider (Postmark, Mailgun, "
            "Resend).",
            status=403,
            details={"channel": "email"},
        )
    if is_channel_test:
        for route in platform:
            if not verification.is_verified_member_address(account, route.target):
                raise ServiceError(
                    "test_recipient_not_allowed",
                    "A test through the platform's mail goes only to a verified email "
                    "address of a member of this account; send it to yours.",
                    details={"channel": "email", "recipient": route.address},
                )
