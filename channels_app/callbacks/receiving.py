"""/hooks/providers/<provider>/<callback token>/: find the channel, limit the rate, verify
the provider's signature, store each report, acknowledge. Applying them is a worker's job
(processing.py), as for every inbound webhook.

Order matters (as in webhooks/inbound/receiving.py): an unknown token or a bad signature
stores nothing, so unsigned junk cannot fill the database; the rate limits come before the
signature check, so a flood costs a cache increment, not an HMAC.
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.callbacks.processing import REPORTS
from channels_app.callbacks.queueing import enqueue
from channels_app.integrations import REGISTRY, get_integration
from channels_app.integrations.callbacks import (
    CallbackProvider,
    CallbackRequest,
    ParsedReport,
    VerificationFailed,
    get_callback_provider,
)
from channels_app.models import ChannelConfig, ProviderReport
from oneping import logs, ratelimit
from oneping.api.errors import error_body

# A Meta webhook carries up to a thousand statuses; a Twilio callback is a short form.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: str | dict[str, Any]
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def receive(provider_name: str, token: str, request: CallbackRequest) -> Answer:
    provider = get_callback_provider(provider_name)
    channel = _channel(provider, token)
    if provider is None or channel is None:
        return _error(404, "not_found", "No channel reports its statuses to this URL.")
    logs.bind(account_id=channel.account_id)
    limited = _rate_limited(channel)
    if limited is not None:
        return limited
    if request.method == "GET":
        challenge = provider.challenge(request, channel.config)
        if challenge is None:
            return _error(405, "method_not_allowed", f"{provider.title} reports by POST.")
        return Answer(challenge.status, challenge.body, "text/plain")
    try:
        provider.verify(request, channel.config)
    except VerificationFailed as exc:
        return _error(403, "invalid_signature", str(exc))
    stored, duplicates = store(channel, provider, provider.reports(request, channel.config))
    body = provider.acknowledgement(len(stored), duplicates)
    return Answer(200, body, "text/plain" if isinstance(body, str) else "application/json")


def _channel(provider: CallbackProvider | None, token: str) -> ChannelConfig | None:
    """The channel with this callback token, if its provider is the one in the URL."""
    if provider is None:
        return None
    channel = ChannelConfig.objects.filter(callback_token=token).first()
    if channel is None or channel.kind not in REGISTRY:
        return None
    if get_integration(channel.kind).status_callback_provider(channel.config) != provider.name:
        return None
    return channel


def store(
    channel: ChannelConfig, provider: CallbackProvider, reports: list[ParsedReport]
) -> tuple[list[str], int]:
    """One row per report, and their task once committed; a report stored before (the
    unique (channel, dedup_key)) is a duplicate. Returns the new ids and the duplicates."""
    stored, duplicates = [], 0
    max_attempts = REPORTS.policy().max_attempts
    with transaction.atomic():
        for parsed in reports:
            try:
                with transaction.atomic():  # a savepoint: one duplicate spoils no other
                    report = ProviderReport.objects.create(
                        account_id=channel.account_id,
                        channel=channel,
                        provider=provider.name,
                        provider_message_id=parsed.provider_message_id[:255],
                        reported_status=parsed.status,
                        provider_status=parsed.provider_status[:40],
                        error_code=parsed.error_code[:40],
                        error_text=parsed.error_text[:2048],
                        bounce_type=parsed.bounce_type[:10],
                        provider_timestamp=parsed.provider_timestamp,
                        dedup_key=parsed.dedup_key[:255],
                        payload=parsed.payload,
                        max_attempts=max_attempts,
                        enqueued_at=timezone.now(),
                    )
            except IntegrityError:
                duplicates += 1
                continue
            stored.append(report.pk)
        transaction.on_commit(lambda: enqueue(stored))
    return stored, duplicates


def _rate_limited(channel: ChannelConfig) -> Answer | None:
    """429 when the channel, or its account (all its channels together), is over its rate."""
    refusal = ratelimit.first_exceeded(
        [
            ratelimit.Limit(
                "channel",
                f"callbacks:channel:{channel.pk}",
                settings.ONEPING_CALLBACK_RATE_PER_CHANNEL,
                settings.ONEPING_CALLBACK_BURST_PER_CHANNEL,
            ),
            ratelimit.Limit(
                "account",
                f"callbacks:account:{channel.account_id}",
                settings.ONEPING_CALLBACK_RATE_PER_ACCOUNT,
                settings.ONEPING_CALLBACK_BURST_PER_ACCOUNT,
            ),
        ]
    )
    if refusal is None:
        return None
    whose = (
        "This callback URL accepts"
        if refusal.limit.scope == "channel"
        else "Your callback URLs accept"
    )
    return _error(
        429,
        "rate_limited",
        refusal.message(whose),
        details=refusal.details,
        headers=refusal.headers,
    )


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    return Answer(status, error_body(code, message, details), headers=headers or {})
