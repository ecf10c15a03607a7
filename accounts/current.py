"""Which account a logged-in dashboard user is working in (kept in the session), and in
which environment: with test mode on, the account's test environment
(accounts.environments), whose pages show test data only."""

from django.http import HttpRequest

from accounts import environments
from accounts.models import Account
from oneping import logs

SESSION_KEY = "account_id"
TEST_MODE_KEY = "test_mode"


def current_account(request: HttpRequest) -> Account | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    accounts = Account.objects.filter(memberships__user=user).select_related("plan")
    chosen = request.session.get(SESSION_KEY)
    account = accounts.filter(pk=chosen).first() if chosen else None
    if account is None:
        account = accounts.order_by("pk").first()
        if account is not None:
            request.session[SESSION_KEY] = account.pk
    if account is not None and request.session.get(TEST_MODE_KEY):
        account = environments.test_environment(account)
    if account is not None:
        logs.bind(account_id=account.pk)
    return account


def set_test_mode(request: HttpRequest, on: bool) -> None:
    """Switch the dashboard between the live account and its test environment."""
    request.session[TEST_MODE_KEY] = bool(on)


def switch_account(request: HttpRequest, account_id: str) -> Account | None:
    account = Account.objects.filter(pk=account_id, memberships__user=request.user).first()
    if account is not None:
        request.session[SESSION_KEY] = account.pk
    return account
