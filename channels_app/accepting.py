"""Accepting a message: validate, count the quota, store, enqueue — never contact a provider.

The API's /send and inbound webhook rules both come through `accept_message`, and
/send/batch (channels_app.batching) through its steps, so one code path validates, counts
quota and creates deliveries.
"""

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import quota
from accounts.models import Account
from accounts.usage import Usage, usage_for
from channels_app import addresses, pacing, platform_mail, retry, rollup
from channels_app.integrations import get_integration
from channels_app.integrations.base import ConfigError, Integration
from channels_app.models import ChannelConfig, Contact, Delivery, IdempotencyKey, Message
from channels_app.queueing import enqueue_together
from channels_app.send_request import SendRequestSerializer
from oneping import logs
from oneping.errors import ServiceError

IDEMPOTENCY_WINDOW = timedelta(hours=24)
IDEMPOTENCY_KEY_LIMIT = 255  # characters
SUBJECT_LENGTH = 78  # RFC 5322 §2.1.1's recommended line length


@dataclass(frozen=True)
class Accepted:
    body: dict[str, Any]
    replayed: bool = False

    @property
    def usage(self) -> dict[str, int]:
        return self.body.get("usage", {})


def default_subject(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    if len(first_line) <= SUBJECT_LENGTH:
        return first_line
    return first_line[: SUBJECT_LENGTH - 1].rstrip() + "…"


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# The channels' configs of a send, each carrying the recipient's contact addresses.
ConfigLookup = Callable[[Account, list[str], dict[str, Any]], list[ChannelConfig]]


def plan_routes(
    account: Account,
    data: dict[str, Any],
    *,
    is_channel_test: bool = False,
    lookup: ConfigLookup | None = None,
) -> list[addresses.Route]:
    """Check every channel is configured, the text fits, an address exists, and the
    platform's own mail may be used (channels_app.platform_mail). In a test environment
    every kind is available: a missing channel is made on the fly (simulated_channels).

    `lookup` reads the configs (default: one query per send; a batch's reads them once)."""
    lookup = lookup or _configs_with_contact
    wanted = [*data["channels"], *data["fallback_channels"]]
    configs = {config.kind: config for config in lookup(account, wanted, data)}
    if not account.livemode and set(wanted) - set(configs):
        simulated_channels(account, [kind for kind in wanted if kind not in configs])
        configs = {config.kind: config for config in lookup(account, wanted, data)}
    contact = _contact(account, data["recipient"], configs)
    routes = []
    for channel in wanted:
        config = configs.get(channel)
        if config is None:
            raise ServiceError(
                "channel_not_configured",
                f"The {channel} channel is not configured for this account: "
                f"POST /api/v1/channels with kind {channel!r} first.",
                details={"channel": channel},
            )
        integration = get_integration(channel)
        segments = integration.check_text(data["message"], config.config)
        options = _channel_options(integration, data["channel_options"].get(channel), config)
        route = addresses.resolve(
            channel, data["recipient"], contact, config, simulated=not account.livemode
        )
        destination = pacing.destination_of(config, route.target)
        routes.append(replace(route, segments=segments, options=options, destination=destination))
    platform_mail.check_routes(account, routes, configs, is_channel_test=is_channel_test)
    return routes


def simulated_channels(account: Account, kinds: list[str]) -> None:
    """A test environment's channels of `kinds`, made unconfigured (config {}, simulated):
    its deliveries reach the simulator only, which needs no provider's config. A row made
    concurrently by another send (one_config_per_kind) is as good."""
    for kind in dict.fromkeys(kinds):
        try:
            with transaction.atomic():
                ChannelConfig.objects.create(account=account, kind=kind, config={}, simulated=True)
        except IntegrityError:
            pass


def _channel_options(
    integration: Integration, options: dict[str, Any] | None, config: ChannelConfig
) -> dict[str, Any]:
    """The kind's entry of `channel_options`, checked against its channel's config (a
    template's shape depends on the provider): 400 invalid_channel_options naming the field."""
    try:
        return integration.clean_options(options or {}, config.config)
    except ConfigError as exc:
        raise ServiceError(
            "invalid_channel_options",
            exc.message,
            field=f"channel_options.{integration.kind}.{exc.field}",
            details={"channel": integration.kind},
        ) from None


def _configs_with_contact(
    account: Account, kinds: list[str], data: dict[str, Any]
) -> list[ChannelConfig]:
    """The channels' configs, each carrying the recipient's contact addresses (or None).

    One round trip, and in plain SQL: this runs on every send, and building the same query
    with annotate(Subquery(...)) cost 1.05 ms of Python against 0.2 ms for the statement
    itself (docs/benchmarks.md, session 4). `kinds` is never empty (the serializer refuses
    an empty `channels`)."""
    config_field = ChannelConfig._meta.get_field("config")
    addresses_field = Contact._meta.get_field("addresses")
    placeholders = ", ".join(["%s"] * len(kinds))
    sql = (
        f"SELECT c.id, c.kind, c.config, c.unpaced, ("  # noqa: S608 (names from _meta, values bound)
        f"SELECT t.addresses FROM {Contact._meta.db_table} t"
        f" WHERE t.account_id = c.account_id AND t.identifier = %s LIMIT 1)"
        f" FROM {ChannelConfig._meta.db_table} c"
        f" WHERE c.account_id = %s AND c.kind IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [data["recipient"], account.pk, *kinds])
        rows = cursor.fetchall()
    configs = []
    for pk, kind, config, unpaced, contact_addresses in rows:
        # from_db, as a queryset's .only() would: a loaded row, not a new one to insert.
        channel_config = ChannelConfig.from_db(
            connection.alias,
            ["id", "account_id", "kind", "config", "unpaced"],
            [pk, account.pk, kind, config_field.from_db_value(config, None, connection), unpaced],
        )
        channel_config.account = account
        channel_config.contact_addresses = addresses_field.from_db_value(
            contact_addresses, None, connection
        )
        configs.append(channel_config)
    return configs


class PreloadedConfigs:
    """A ConfigLookup for many sends of one account (a batch): the account's channels (one
    per kind, so a handful of rows) and the contacts of the batch's recipients are read once,
    instead of _configs_with_contact's query per send. Each send gets its own copies."""

    def __init__(self, account: Account, recipients: Iterable[Any]):
        self._configs: dict[str, ChannelConfig] | None = None
        self._asked = {r for r in recipients if isinstance(r, str)}
        self._contacts = dict(
            Contact.objects.filter(account=account, identifier__in=self._asked).values_list(
                "identifier", "addresses"
            )
        )

    def __call__(
        self, account: Account, kinds: list[str], data: dict[str, Any]
    ) -> list[ChannelConfig]:
        # Read again when a test environment has just made its missing channels.
        if self._configs is None or (not account.livemode and set(kinds) - set(self._configs)):
            self._configs = {
                config.kind: config
                for config in ChannelConfig.objects.filter(account=account).only(
                    "id", "account_id", "kind", "config", "unpaced"
                )
            }
        recipient = data["recipient"]
        if recipient not in self._asked:  # the serializer changed it: ask for it alone
            self._asked.add(recipient)
            contact = Contact.objects.filter(account=account, identifier=recipient).first()
            if contact is not None:
                self._contacts[recipient] = contact.addresses
        configs = []
        for kind in kinds:
            if kind in self._configs:
                config = copy.copy(self._configs[kind])
                config.account = account
                config.contact_addresses = self._contacts.get(recipient)
                configs.append(config)
        return configs


def _contact(account: Account, recipient: str, configs: dict[str, ChannelConfig]) -> Contact | None:
    first = next(iter(configs.values()), None)
    if first is None or first.contact_addresses is None:
        return None  # no contact (or no channel, which plan_routes refuses anyway)
    return Contact(account=account, identifier=recipient, addresses=first.contact_addresses)


def prepare(
    account: Account,
    payload: Any,
    *,
    is_channel_test: bool = False,
    lookup: ConfigLookup | None = None,
    validator: SendRequestSerializer | None = None,
) -> tuple[dict[str, Any], list[addresses.Route]]:
    """Validate a send request and plan its routes: the checks every message passes, one
    at a time, whether it came alone (/send, inbound rules) or in a batch (/send/batch).

    A batch passes one `validator` for all its items: DRF deep-copies a serializer's
    fields for every instance, which was a third of a batch's validation time
    (bench.statements --profile send_batch). run_validation is what is_valid runs, and
    raises the same ValidationError.

    Raises rest_framework's ValidationError for a malformed request and ServiceError for a
    broken rule (channel_not_configured, recipient_unresolved, …)."""
    if validator is None:
        serializer = SendRequestSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
    else:
        data = validator.run_validation(payload)
    return data, plan_routes(account, data, is_channel_test=is_channel_test, lookup=lookup)


def accept_message(
    account: Account,
    payload: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    count_quota: bool = True,
    is_channel_test: bool = False,
) -> Accepted:
    """Validate and store a message with its deliveries; enqueue them once committed.

    Raises rest_framework's ValidationError for a malformed request and ServiceError for a
    broken rule (channel_not_configured, recipient_unresolved, quota_exceeded, …).
    """
    data, routes = prepare(account, payload, is_channel_test=is_channel_test)

    with transaction.atomic():
        claim = None
        if idempotency_key:
            claim, replay = _claim_idempotency_key(account, idempotency_key, fingerprint(payload))
            if replay is not None:
                return Accepted(body=replay, replayed=True)
        message, deliveries = build(account, data, routes, is_channel_test=is_channel_test)
        store([(message, deliveries)])
        logs.bind(message_id=message.pk)
        # Counted last: the month's usage row is locked from here to the commit, and every
        # concurrent send of the account waits for that lock (docs/benchmarks.md).
        usage = quota.consume(account) if count_quota else usage_for(account)
        # After the quota, for the same reason: the account's rollup rows stay locked
        # until the commit too (and in the same order for every send: no deadlock).
        rollup.count_created(deliveries)
        body = accepted_body(message, deliveries, usage)
        if claim is not None:
            claim.message = message
            claim.response_body = body
            claim.save(update_fields=["message", "response_body"])
        first_wave = first_wave_of(deliveries)
        transaction.on_commit(lambda: enqueue_together(first_wave))
    return Accepted(body=body)


def first_wave_of(deliveries: list[Delivery]) -> list[str]:
    """The deliveries to send now (the primaries; fallbacks wait on standby)."""
    return [d.pk for d in deliveries if d.status == Delivery.Status.QUEUED]


def _claim_idempotency_key(
    account: Account, key: str, request_fingerprint: str
) -> tuple[IdempotencyKey | None, dict | None]:
    """Insert the key (the unique constraint serialises concurrent requests), or replay."""
    IdempotencyKey.objects.filter(
        account=account, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                account=account, key=key, fingerprint=request_fingerprint
            ), None
    except IntegrityError:
        existing = IdempotencyKey.objects.get(account=account, key=key)
    if existing.fingerprint != request_fingerprint:
        raise ServiceError(
            "idempotency_conflict",
            "This Idempotency-Key was already used with a different request body.",
            status=409,
            details={"idempotency_key": key},
        )
    return None, existing.response_body


def build(
    account: Account, data: dict[str, Any], routes: list[addresses.Route], *, is_channel_test: bool
) -> tuple[Message, list[Delivery]]:
    """A message and its deliveries, not saved yet (store() inserts them)."""
    message = Message(
        account=account,
        recipient=data["recipient"],
        subject=data.get("subject") or default_subject(data["message"]),
        body=data["message"],
        channels=data["channels"],
        fallback_channels=data["fallback_channels"],
        metadata=data["metadata"],
        channel_options={route.channel: route.options for route in routes if route.options},
        callback_url=data.get("callback_url", ""),
        retry=data["retry"],
        is_channel_test=is_channel_test,
    )
    primaries = len(data["channels"])
    deliveries = [
        Delivery(
            message=message,
            account=account,
            channel=route.channel,
            target=route.target,
            address=route.address,
            fallback_order=max(index - primaries + 1, 0),
            status=Delivery.Status.QUEUED if index < primaries else Delivery.Status.STANDBY,
            max_attempts=retry.max_attempts(data["retry"]),
            segments=route.segments,
            destination=route.destination,
            enqueued_at=timezone.now() if index < primaries else None,
            # The message's own time: the usage rollup counts a delivery in the month its
            # message was accepted in (channels_app.rollup).
            created_at=message.created_at,
        )
        for index, route in enumerate(routes)
    ]
    return message, deliveries


def store(messages: list[tuple[Message, list[Delivery]]]) -> None:
    """Insert built messages and their deliveries: two statements, however many messages.
    No timeline entries: acceptance is shown from the rows themselves (Delivery.steps)."""
    Message.objects.bulk_create([message for message, _ in messages])
    Delivery.objects.bulk_create([d for _, deliveries in messages for d in deliveries])


def accepted_body(message: Message, deliveries: list[Delivery], usage: Usage) -> dict[str, Any]:
    livemode = message.account.livemode
    return {
        "id": message.id,
        "livemode": livemode,
        "status": message.status,
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "recipient": message.recipient,
        "channels": message.channels,
        "fallback_channels": message.fallback_channels,
        "deliveries": [
            {
                "id": d.id,
                "livemode": livemode,
                "channel": d.channel,
                "status": d.status,
                "fallback": d.is_fallback,
            }
            for d in deliveries
        ],
        "usage": {"used": usage.used, "limit": usage.limit, "remaining": usage.remaining},
    }
