"""Accepting a batch of messages (POST /api/v1/send/batch) in one transaction.

Every item goes through the steps of a single send (channels_app.accepting: `prepare`,
`build`, `store`, `accepted_body`), so a batch follows exactly /send's rules; what a batch
does once rather than per item is the writing: one bulk insert of the messages and one of
their deliveries, the quota counted for all items in one conditional UPDATE
(accounts.quota.consume_many), the rollup counted together, one enqueue.

Items are answered side by side: one item's error (invalid, unroutable, over the quota, a
reused idempotency key) never rejects the others. Idempotency keys are resolved before the
transaction and claimed with an INSERT that skips conflicts, so a key racing another
request can never abort the batch's transaction.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts import quota
from accounts.models import Account
from accounts.usage import Usage, usage_for
from channels_app import addresses, rollup
from channels_app.accepting import (
    IDEMPOTENCY_KEY_LIMIT,
    IDEMPOTENCY_WINDOW,
    PreloadedConfigs,
    accepted_body,
    build,
    fingerprint,
    first_wave_of,
    prepare,
    store,
)
from channels_app.models import IdempotencyKey
from channels_app.queueing import enqueue_together
from channels_app.send_request import SendRequestSerializer
from oneping.api.errors import describe_error
from oneping.errors import ServiceError

BATCH_LIMIT = 1000  # items per batch


@dataclass
class Item:
    """One message of a batch on its way: `answer` is set once its result is known."""

    index: int
    payload: Any
    key: str | None = None
    fingerprint: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    routes: list[addresses.Route] = field(default_factory=list)
    claim_id: int | None = None
    answer: dict[str, Any] | None = None

    def fail(self, exc: ServiceError | ValidationError) -> None:
        self.answer = {"index": self.index, "error": describe_error(exc)}

    def replay(self, body: dict[str, Any]) -> None:
        self.answer = {"index": self.index, **_without_usage(body), "replayed": True}

    @property
    def succeeded(self) -> bool:
        return self.answer is not None and "error" not in self.answer


@dataclass(frozen=True)
class BatchAccepted:
    data: list[dict[str, Any]]
    usage: Usage

    @property
    def body(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "data": self.data,
            "usage": {"used": usage.used, "limit": usage.limit, "remaining": usage.remaining},
        }


def check_size(messages: Any) -> None:
    """The batch itself: a list of 1 to BATCH_LIMIT items (each item is checked alone)."""
    if not isinstance(messages, list) or not messages:
        raise ServiceError(
            "validation_error",
            "A non-empty list of messages is required.",
            field="messages",
        )
    if len(messages) > BATCH_LIMIT:
        raise ServiceError(
            "too_many_messages",
            f"A batch holds at most {BATCH_LIMIT} messages; this one has {len(messages)}.",
            details={"limit": BATCH_LIMIT, "count": len(messages)},
        )


def accept_batch(account: Account, messages: Any) -> BatchAccepted:
    """Accept what can be accepted of `messages`, in order; answer every item.

    Raises ServiceError batch_rejected (with every item's error) when no item was
    accepted or replayed."""
    check_size(messages)
    items = [Item(index, payload) for index, payload in enumerate(messages)]
    seen_keys: set[str] = set()
    # Read once for the batch: the account's channels and the recipients' contacts, and the
    # serializer's fields (accepting.prepare).
    lookup = PreloadedConfigs(
        account, [p.get("recipient") for p in messages if isinstance(p, dict)]
    )
    validator = SendRequestSerializer()
    for item in items:
        _read_item(account, item, seen_keys, lookup, validator)
    keyed = [item for item in items if item.answer is None and item.key]
    if keyed:
        _forget_expired(account, [item.key for item in keyed])
        _resolve(account, keyed)

    usage = None
    if any(item.answer is None for item in items):
        usage = _accept(account, [item for item in items if item.answer is None])
    answers = [item.answer for item in items]
    if not any(item.succeeded for item in items):
        raise ServiceError(
            "batch_rejected",
            "No message of the batch was accepted: see each item's error.",
            details={"errors": answers},
        )
    return BatchAccepted(data=answers, usage=usage or usage_for(account))


def _read_item(
    account: Account,
    item: Item,
    seen_keys: set[str],
    lookup: PreloadedConfigs,
    validator: SendRequestSerializer,
) -> None:
    """Take the item's idempotency key out, then validate and route it as /send does."""
    if not isinstance(item.payload, dict):
        item.fail(ServiceError("invalid_body", "Each message must be a JSON object."))
        return
    payload = dict(item.payload)
    key = payload.pop("idempotency_key", None)
    if key is not None:
        if not isinstance(key, str) or not 0 < len(key) <= IDEMPOTENCY_KEY_LIMIT:
            item.fail(
                ServiceError(
                    "invalid_idempotency_key",
                    f"idempotency_key must be a string of 1 to {IDEMPOTENCY_KEY_LIMIT} characters.",
                )
            )
            return
        if key in seen_keys:
            item.fail(
                ServiceError(
                    "duplicate_idempotency_key",
                    "An earlier message of this batch has the same idempotency_key.",
                    details={"idempotency_key": key},
                )
            )
            return
        seen_keys.add(key)
        item.key = key
        # As /send's: the body without the key, so a batch item replays a /send alike.
        item.fingerprint = fingerprint(payload)
    try:
        item.data, item.routes = prepare(account, payload, lookup=lookup, validator=validator)
    except (ServiceError, ValidationError) as exc:
        item.fail(exc)


def _forget_expired(account: Account, keys: list[str]) -> None:
    IdempotencyKey.objects.filter(
        account=account, key__in=keys, created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()


def _resolve(account: Account, items: list[Item]) -> None:
    """Answer the items whose key was already used: the original answer for the same body
    (a replay), /send's idempotency_conflict for another one."""
    by_key = {item.key: item for item in items}
    for key, fp, body in IdempotencyKey.objects.filter(
        account=account, key__in=list(by_key)
    ).values_list("key", "fingerprint", "response_body"):
        item = by_key[key]
        if fp != item.fingerprint:
            item.fail(
                ServiceError(
                    "idempotency_conflict",
                    "This idempotency_key was already used with a different request body.",
                    status=409,
                    details={"idempotency_key": key},
                )
            )
        elif body is None:  # claimed by a request still in flight (not seen committed)
            item.fail(
                ServiceError(
                    "idempotency_key_in_use",
                    "A request with this idempotency_key is still being processed.",
                    status=409,
                    details={"idempotency_key": key},
                )
            )
        else:
            item.replay(body)


def _claim(account: Account, items: list[Item]) -> None:
    """Insert the items' keys, skipping any another request inserted since _resolve: those
    items are resolved again (replay or conflict) instead of failing the transaction.
    ON CONFLICT DO NOTHING … RETURNING: PostgreSQL and SQLite ≥ 3.35 alike."""
    keyed = {item.key: item for item in items if item.key}
    if not keyed:
        return
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(keyed))
    params = [
        value for key, item in keyed.items() for value in (account.pk, key, item.fingerprint, now)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, key, fingerprint, created_at)"  # noqa: S608 (the table name is ours, values bound)
            f" VALUES {rows} ON CONFLICT DO NOTHING RETURNING id, key",
            params,
        )
        for pk, key in cursor.fetchall():
            keyed.pop(key).claim_id = pk
    if keyed:  # lost to a concurrent request, now committed
        _resolve(account, list(keyed.values()))


def _accept(account: Account, items: list[Item]) -> Usage:
    """The valid items: claim their keys, count them against the quota in order, store
    the admitted ones in one transaction, enqueue their deliveries once committed."""
    with transaction.atomic():
        _claim(account, items)
        items = [item for item in items if item.answer is None]
        if not items:
            return usage_for(account)
        # Built before counting: the month's usage row is locked from the count to the
        # commit, and every concurrent send of the account waits for it (as accepting's).
        built = [build(account, item.data, item.routes, is_channel_test=False) for item in items]
        admitted, usage = quota.consume_many(account, len(items))
        accepted, refused, built = items[:admitted], items[admitted:], built[:admitted]
        if refused:
            refusal = quota.refusal(account, usage)
            for item in refused:
                item.fail(refusal)
            unclaimed = [item.claim_id for item in refused if item.claim_id]
            if unclaimed:
                IdempotencyKey.objects.filter(pk__in=unclaimed).delete()
        store(built)
        deliveries = [d for _, message_deliveries in built for d in message_deliveries]
        # After the quota, as a single send: the rollup rows stay locked to the commit too.
        rollup.count_created(deliveries)
        claims = []
        for item, (message, message_deliveries) in zip(accepted, built, strict=True):
            body = accepted_body(message, message_deliveries, usage)
            item.answer = {"index": item.index, **_without_usage(body)}
            if item.claim_id:
                claims.append(IdempotencyKey(pk=item.claim_id, message=message, response_body=body))
        if claims:
            IdempotencyKey.objects.bulk_update(claims, ["message", "response_body"])
        first_wave = first_wave_of(deliveries)
        transaction.on_commit(lambda: enqueue_together(first_wave))
    return usage


def _without_usage(body: dict[str, Any]) -> dict[str, Any]:
    """A message's answer in a batch: the batch answers the usage once, at the top."""
    return {name: value for name, value in body.items() if name != "usage"}
