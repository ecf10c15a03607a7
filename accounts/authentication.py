"""`Authorization: Bearer op_live_…` for the API."""

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import api_keys
from accounts.models import Account, ApiKey
from oneping import logs


class ApiClient:
    """The caller of an API request: whoever holds the key, acting for its account."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.account: Account = api_key.account

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}…"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.strip().partition(" ")
        raw_key = raw_key.strip()
        if scheme.lower() != self.keyword.lower() or not raw_key:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <API key>'.", code="invalid_api_key"
            )
        api_key = api_keys.find_active_key(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "The API key is unknown, revoked or malformed.", code="invalid_api_key"
            )
        api_keys.record_use(api_key)
        # Views read the tenant as request.account, the same attribute the dashboard uses.
        request._request.account = api_key.account
        logs.bind(account_id=api_key.account_id)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing.
        return f'{self.keyword} realm="oneping"'
