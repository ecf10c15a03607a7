"""The inbound verification schemes: one module each in this package, one line each here.

Adding a scheme: a module with a Scheme subclass (schemes/base.py says what it provides),
and its dotted path below. The endpoint's `verification` choices, the API's and the
dashboard's choices, the dashboard form, the curl example and the presets all follow from
this registry; no migration is needed (the model field's choices are this module's
verification_choices, a callable).
"""

import copy
from typing import Any

from django.utils.module_loading import import_string

from webhooks.inbound.schemes.base import Preset, Scheme, SettingsError, VerificationFailed

__all__ = [
    "SCHEMES",
    "Preset",
    "Scheme",
    "SettingsError",
    "VerificationFailed",
    "preset",
    "preset_rules",
    "presets",
    "verification_choices",
]

REGISTRY: tuple[str, ...] = (
    "webhooks.inbound.schemes.none.NoVerification",
    "webhooks.inbound.schemes.hmac_sha256.HmacSha256",
    "webhooks.inbound.schemes.standard_webhooks.StandardWebhooks",
    "webhooks.inbound.schemes.github.GitHub",
    "webhooks.inbound.schemes.stripe.Stripe",
    "webhooks.inbound.schemes.shopify.Shopify",
    "webhooks.inbound.schemes.generic_hmac.Hmac",
    "webhooks.inbound.schemes.token.Token",
    "webhooks.inbound.schemes.gitlab.GitLab",
    "webhooks.inbound.schemes.bitbucket.Bitbucket",
    "webhooks.inbound.schemes.woocommerce.WooCommerce",
    "webhooks.inbound.schemes.typeform.Typeform",
    "webhooks.inbound.schemes.sentry.Sentry",
    "webhooks.inbound.schemes.slack.Slack",
    "webhooks.inbound.schemes.pagerduty.PagerDuty",
)

SCHEMES: dict[str, Scheme] = {
    scheme.name: scheme for scheme in (import_string(path)() for path in REGISTRY)
}


def verification_choices() -> list[tuple[str, str]]:
    """(name, label) of every scheme, read on each use (InboundEndpoint.verification's
    choices, the serializer's and the form's): a new scheme needs no migration."""
    return [(scheme.name, scheme.label) for scheme in SCHEMES.values()]


def presets() -> list[dict[str, Any]]:
    """Every scheme's presets as the API lists them: key, name, verification, the endpoint
    settings the sender needs (e.g. the token's header), rules."""
    listed = sorted(
        ((preset, scheme) for scheme in SCHEMES.values() for preset in scheme.presets),
        key=lambda pair: pair[0].position,
    )
    return [
        {
            "key": preset.key,
            "name": preset.name,
            "verification": scheme.name,
            "settings": copy.deepcopy(dict(preset.settings)),
            "rules": [dict(rule) for rule in preset.rules],
        }
        for preset, scheme in listed
    ]


def preset(key: str) -> dict[str, Any]:
    """One preset by its key (KeyError when there is none)."""
    return {found["key"]: found for found in presets()}[key]


def preset_rules(key: str, channels: list[str], recipient: str) -> list[dict[str, Any]]:
    """The rules a preset makes for these channels and this recipient."""
    return [
        {**rule, "channels": channels, "recipient": recipient, "fallback_channels": []}
        for rule in preset(key)["rules"]
    ]
