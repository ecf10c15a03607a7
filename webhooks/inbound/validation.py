"""The checks an inbound endpoint's fields pass before it is saved, whoever saves it.

The API's serializer (and through it the dashboard's form) and the admin's form call
`clean_fields`, so a staff typo in the admin's raw JSON is refused in the API's words
rather than stored as a rule set, network list or signature description the API would
refuse (and receiving would then have to second-guess on every request).
"""

from typing import Any

from accounts.models import Account
from channels_app.models import ChannelConfig
from webhooks.inbound import allowlist, event_types, schemes
from webhooks.inbound.rules import RuleError, clean_rules
from webhooks.models import InboundEndpoint


class InvalidField(ValueError):
    """One field is refused: `path` names it as the API does ("rules[0].when")."""

    def __init__(self, path: str, message: str, code: str = "invalid"):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.code = code


def clean_fields(
    attrs: dict[str, Any], instance: InboundEndpoint | None, account: Account
) -> dict[str, Any]:
    """`attrs` (the fields being set on `instance`, or on a new endpoint when None) with
    each value as it is stored: the scheme's settings, event_type_from, allowed_ips and
    rules cleaned. Raises InvalidField for the first field that is refused."""
    attrs = dict(attrs)
    verification = attrs.get("verification") or getattr(instance, "verification", None)
    if verification is None:
        raise InvalidField("verification", "This field is required.")
    secret = attrs.get("secret", getattr(instance, "secret", ""))
    scheme = schemes.SCHEMES[verification]
    if scheme.needs_secret and not secret:
        raise InvalidField("secret", f"The {verification} verification needs the sender's secret.")
    everything = instance is None or "verification" in attrs
    attrs.update(_scheme_settings(scheme, attrs, instance, everything))
    # A setting of another scheme (hmac on a github endpoint) is kept for a later
    # switch, so it is checked now by the scheme it belongs to.
    for other in schemes.SCHEMES.values():
        if any(name in attrs and name not in scheme.settings for name in other.settings):
            attrs.update(_scheme_settings(other, attrs, instance, everything=False))
    try:
        if "event_type_from" in attrs:
            attrs["event_type_from"] = event_types.clean(attrs["event_type_from"])
        if "allowed_ips" in attrs:
            attrs["allowed_ips"] = allowlist.clean(attrs["allowed_ips"])
    except (event_types.EventTypeFromError, allowlist.AllowedIpsError) as exc:
        raise InvalidField(exc.path, exc.message) from None
    if "rules" in attrs or instance is None:
        configured = set(
            ChannelConfig.objects.filter(account=account).values_list("kind", flat=True)
        )
        try:
            attrs["rules"] = clean_rules(attrs.get("rules", []), configured)
        except RuleError as exc:
            raise InvalidField(exc.path, exc.message, code="invalid_rule") from None
    return attrs


def _scheme_settings(
    scheme: schemes.Scheme,
    attrs: dict[str, Any],
    instance: InboundEndpoint | None,
    everything: bool,
) -> dict[str, Any]:
    """The scheme's settings (given, or the endpoint's, or the defaults) as the scheme
    cleans them: all of them when the endpoint takes this scheme now, else the given."""
    current = {
        name: attrs[name]
        if name in attrs
        else getattr(instance, name, InboundEndpoint._meta.get_field(name).get_default())
        for name in scheme.settings
    }
    try:
        cleaned = scheme.clean_settings(current)
    except schemes.SettingsError as exc:
        raise InvalidField(exc.field, exc.message) from None
    kept = scheme.settings if everything else [n for n in scheme.settings if n in attrs]
    return {name: cleaned[name] for name in kept if name in cleaned}
