"""Dashboard: API keys. The full key is shown once, in the response to the POST that made it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.api_keys import issue_key, revoke_key
from accounts.dashboard.forms import ApiKeyForm
from accounts.models import ApiKey
from accounts.permissions import KEY_MANAGER_ROLE, account_view
from oneping.errors import ServiceError
from oneping.pages import paginate


@account_view()
def key_list(request: HttpRequest) -> HttpResponse:
    return _render_keys(request, ApiKeyForm())


@never_cache  # the page carries the raw key: no browser or proxy may keep a copy
@account_view(KEY_MANAGER_ROLE)
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render_keys(request, form)
    try:
        api_key, raw_key = issue_key(
            request.account,
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            created_by_user=request.user,
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _render_keys(request, form)
    # Rendered rather than redirected: a redirect would need the raw key in the session,
    # and this response is the only place it ever appears.
    return _render_keys(request, ApiKeyForm(), new_key=raw_key, new_api_key=api_key)


@account_view(KEY_MANAGER_ROLE)
@require_POST
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id, account=request.account)
    revoke_key(api_key)
    messages.success(request, f"Revoked API key {api_key.name}: it no longer works.")
    return redirect("dashboard-keys")


def _render_keys(request: HttpRequest, form: ApiKeyForm, **extra) -> HttpResponse:
    keys = ApiKey.objects.filter(account=request.account).select_related(
        "created_by_user", "created_by_key"
    )
    page = paginate(request, keys)
    return render(request, "accounts/keys.html", {"page": page, "form": form, **extra})
