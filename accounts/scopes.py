"""What an API key may do: its scopes, and the one rule that maps every route to one.

Scopes are a flat list, none implies another:
- `send`: send messages (and re-send a failed delivery), and read messages;
- `read`: every GET that reveals no secret;
- `admin`: every other write (channels, contacts, keys, endpoints, reprocessing), and the
  GETs that reveal a secret (an endpoint's signing secret, the account's signing secret,
  inbound URLs whose token lets anyone post events).

The rule lives here and nowhere else, and it is a DRF permission in
DEFAULT_PERMISSION_CLASSES, so a new route is covered without anyone thinking of it: its
GETs need `read`, everything else `admin`. A view (or one `@action(...)`, whose keyword
arguments DRF sets on the view) declares only what is special about it:
- `reads_messages = True`: its reads are message reads (`send` or `read`);
- `reveals_secret = True`: its reads show a secret (`admin`);
- `required_scope = Scope.SEND` (or a tuple, any of which will do): overrides the rule.

Only API keys are scoped. Someone logged in to the dashboard (or a browsable API) acts with
their role in the account, which accounts.permissions checks.
"""

from collections.abc import Iterable
from enum import StrEnum

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import ApiKey
from oneping.errors import ServiceError


class Scope(StrEnum):
    SEND = "send"
    READ = "read"
    ADMIN = "admin"


ALL_SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)
DESCRIPTIONS = {
    Scope.SEND: "send messages, re-send failed deliveries, read messages and deliveries",
    Scope.READ: "every GET that reveals no secret",
    Scope.ADMIN: "every other write, and the GETs that reveal a secret",
}


def normalize(scopes: Iterable[str]) -> list[str]:
    """The scopes without duplicates, in the canonical order (send, read, admin)."""
    chosen = set(scopes)
    return [scope for scope in ALL_SCOPES if scope in chosen]


def required_scopes(view, method: str) -> tuple[str, ...]:
    """The scopes of which a key needs at least one to call `method` on `view`."""
    declared = getattr(view, "required_scope", None)
    if declared:
        return tuple(normalize([declared] if isinstance(declared, str) else declared))
    if method.upper() in SAFE_METHODS:
        if getattr(view, "reveals_secret", False):
            return (Scope.ADMIN.value,)
        if getattr(view, "reads_messages", False):
            return (Scope.SEND.value, Scope.READ.value)
        return (Scope.READ.value,)
    return (Scope.ADMIN.value,)


def describe(scopes: Iterable[str]) -> str:
    """'the send or read scope', for messages."""
    names = [f"`{scope}`" for scope in scopes]
    if len(names) == 1:
        return f"the {names[0]} scope"
    return f"the {', '.join(names[:-1])} or {names[-1]} scope"


def insufficient_scope(missing: Iterable[str], has: Iterable[str], why: str) -> ServiceError:
    """403 insufficient_scope; the message names the missing scope, `why` says what for."""
    missing, has = list(missing), list(has)
    held = ", ".join(has) or "none"
    return ServiceError(
        "insufficient_scope",
        f"This API key lacks {describe(missing)}, {why}; its scopes are: {held}.",
        status=403,
        details={"required_scopes": missing, "key_scopes": has},
    )


class ScopePermission(BasePermission):
    """Refuses an API key whose scopes do not cover the route (403 insufficient_scope)."""

    def has_permission(self, request: Request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True  # not an API key: a session, scoped by the user's role instead
        needed = required_scopes(view, request.method)
        if set(needed) & set(api_key.scopes):
            return True
        raise insufficient_scope(
            needed, api_key.scopes, f"which {request.method} {request.path} needs"
        )

    def document_operation(self, operation: dict, view, method: str) -> None:
        """The OpenAPI operation names its scopes (oneping.api.schema calls this)."""
        needed = required_scopes(view, method)
        operation["x-required-scopes"] = list(needed)
        note = f"API key scope: {' or '.join(f'`{scope}`' for scope in needed)}."
        description = operation.get("description", "")
        operation["description"] = f"{description}\n\n{note}" if description else note


def check_can_grant(creator: ApiKey | None, scopes: Iterable[str]) -> None:
    """A key never mints a key with a scope it does not hold itself."""
    if creator is None:
        return
    missing = [scope for scope in normalize(scopes) if scope not in creator.scopes]
    if missing:
        raise insufficient_scope(missing, creator.scopes, "so it cannot create a key that has it")
