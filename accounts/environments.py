"""Test mode: every account's test environment, a sibling Account row.

What an op_test_ key (or the dashboard with test mode on) creates — messages, deliveries,
events, webhook endpoints, contacts, channels, inbound endpoints, idempotency keys, API
keys — belongs to the test environment, an Account row of its own whose `live_account` is
the real account. So every existing rule applies to it unchanged: queries scoped to
request.account never cross between the two (404 by id, absent from lists, both ways),
unique constraints and caps count each environment apart (test keys against the key cap
apart from live ones), and indexes serve both.

What differs is decided here and where `account.livemode` is read:
- its deliveries never reach a provider: the simulator answers instead
  (channels_app.integrations.simulator), every channel kind available unconfigured;
- its messages do not count against the monthly quota but against a daily cap
  (ONEPING_TEST_MODE_MESSAGES_PER_DAY, accounts.quota.consume);
- everything it shows says "livemode": false, webhook events included.

People are members of the live account only; the test environment follows its plan.
"""

import secrets

from django.db import IntegrityError, transaction

from accounts.models import Account

# Bounded: livemode never changes for an account id, so what was read stays true.
_LIVEMODE_CACHE: dict[str, bool] = {}
_LIVEMODE_CACHE_SIZE = 10_000

LIVE, TEST = "live", "test"
MODES = (LIVE, TEST)


def test_environment(account: Account) -> Account:
    """The test environment of `account` (itself when it is one), created on first use."""
    if not account.livemode:
        return account
    existing = Account.objects.select_related("plan").filter(live_account=account).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Account.objects.create(
                name=account.name,
                # Slugs are unique; the test environment's is never shown or looked up.
                slug=f"{account.slug[:60]}--test-{secrets.token_hex(4)}",
                plan=account.plan,
                livemode=False,
                live_account=account,
            )
    except IntegrityError:  # made concurrently (the one-to-one is unique)
        return Account.objects.select_related("plan").get(live_account=account)


def live_account(account: Account) -> Account:
    """The live account of an environment (itself when it is live)."""
    if account.livemode:
        return account
    return Account.objects.select_related("plan").get(pk=account.live_account_id)


def environment(account: Account, mode: str) -> Account:
    """`account`'s live or test environment."""
    return test_environment(account) if mode == TEST else live_account(account)


def mode_of(account: Account) -> str:
    return LIVE if account.livemode else TEST


def is_live(account_id: str) -> bool:
    """Whether the account id is a live account (cached: it never changes)."""
    known = _LIVEMODE_CACHE.get(account_id)
    if known is None:
        known = bool(
            Account.objects.filter(pk=account_id).values_list("livemode", flat=True).first()
            in (True, None)
        )
        if len(_LIVEMODE_CACHE) >= _LIVEMODE_CACHE_SIZE:
            _LIVEMODE_CACHE.clear()
        _LIVEMODE_CACHE[account_id] = known
    return known


def follow_plan(sender, instance: Account, **kwargs) -> None:
    """post_save of an Account: its test environment moves to the live account's plan (the
    API rate limit a test key gets is the plan's). Connected in AccountsConfig.ready."""
    if instance.livemode:
        Account.objects.filter(live_account=instance).exclude(plan_id=instance.plan_id).update(
            plan_id=instance.plan_id
        )
