"""Dashboard: API keys. The full key is shown once, in the response to the POST that made it.

The page is about the live account whatever the test mode switch says: its live keys and
its test environment's keys (accounts.environments) are listed apart, and either kind is
created and revoked here.
"""

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import environments
from accounts.api_keys import issue_key, revoke_key
from accounts.dashboard.forms import ApiKeyForm
from accounts.models import Account, ApiKey
from accounts.permissions import KEY_MANAGER_ROLE, account_view
from oneping.errors import ServiceError
from oneping.pages import paginate

# The test keys' list pages with parameters of its own, beside the live keys' list.
TEST_KEYS_PAGE_PREFIX = "test_"


@account_view()
def key_list(request: HttpRequest) -> HttpResponse:
    return _render_keys(request, _empty_form(request))


@never_cache  # the page carries the raw key: no browser or proxy may keep a copy
@account_view(KEY_MANAGER_ROLE)
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render_keys(request, form)
    try:
        api_key, raw_key = issue_key(
            environments.environment(
                request.live_account,
                form.cleaned_data["mode"] or environments.mode_of(request.account),
            ),
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            created_by_user=request.user,
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _render_keys(request, form)
    # Rendered rather than redirected: a redirect would need the raw key in the session,
    # and this response is the only place it ever appears.
    return _render_keys(request, _empty_form(request), new_key=raw_key, new_api_key=api_key)


@account_view(KEY_MANAGER_ROLE)
@require_POST
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.filter(_of_both(request.live_account)), pk=key_id)
    revoke_key(api_key)
    messages.success(request, f"Revoked API key {api_key.name}: it no longer works.")
    return redirect("dashboard-keys")


def _of_both(live: Account) -> Q:
    """Keys of the live account or of its test environment, nothing else."""
    return Q(account=live) | Q(account__live_account=live)


def _empty_form(request: HttpRequest) -> ApiKeyForm:
    # A new key is, unless chosen otherwise, of the mode the dashboard is in.
    return ApiKeyForm(initial={"mode": environments.mode_of(request.account)})


def _render_keys(request: HttpRequest, form: ApiKeyForm, **extra) -> HttpResponse:
    live = request.live_account
    keys = ApiKey.objects.select_related("created_by_user", "created_by_key")
    context = {
        "live_page": paginate(request, keys.filter(account=live)),
        # Filtered through the relation: listing never creates the test environment.
        "test_page": paginate(
            request, keys.filter(account__live_account=live), prefix=TEST_KEYS_PAGE_PREFIX
        ),
        "form": form,
        **extra,
    }
    return render(request, "accounts/keys.html", context)
