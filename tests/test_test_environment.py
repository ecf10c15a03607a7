"""An account's test environment (accounts.environments): one sibling row, made once,
following the live account's plan."""

import pytest
from django.db import IntegrityError

from accounts import environments
from accounts.models import Account, Plan


def test_the_test_environment_is_made_once_and_is_its_own_test_environment(account):
    test = environments.test_environment(account)
    assert test.pk != account.pk
    assert (test.livemode, test.live_account_id, test.plan_id) == (
        False,
        account.pk,
        account.plan_id,
    )
    assert environments.test_environment(account).pk == test.pk
    assert environments.test_environment(test).pk == test.pk
    assert environments.live_account(test).pk == account.pk
    assert environments.environment(test, environments.LIVE).pk == account.pk
    assert environments.is_live(account.pk) and not environments.is_live(test.pk)
    assert Account.objects.filter(live_account=account).count() == 1


def test_the_test_environment_follows_the_live_accounts_plan(account):
    test = environments.test_environment(account)
    pro = Plan.objects.create(name="pro-t", display_name="Pro", monthly_quota=10_000)
    account.plan = pro
    account.save()
    test.refresh_from_db()
    assert test.plan_id == pro.pk


def test_a_live_account_cannot_claim_a_live_account(account, make_account):
    other = make_account()
    other.live_account = account
    with pytest.raises(IntegrityError):
        other.save()
