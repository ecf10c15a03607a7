"""Registry of channel kinds: one folder per kind under integrations/, one line here per folder.

Everything that lists kinds reads this registry: the model fields' choices (a callable, so
a new kind needs no migration), the API's `kind` and `channels`, the channel page's forms,
the contact form's address fields, the unresolved-address hint. Those read it on every call
(`channel_kinds()`), so a kind registered at runtime shows up at once; the list filters and
the OpenAPI pattern of channel names take it when their module is imported. The one cache
is `get_integration`'s: one instance per kind.

Adding a kind: one folder integrations/<kind>/ whose integration.py subclasses
base.Integration and declares
  - who it is: kind, title, setup_help (how to get a token, shown on the channel page);
  - its config: clean_config, secret_fields, secret_destinations, form_fields (with
    form_initial / config_from_form when the form's fields are not the config's), and
    summary when the channel card should not list every field;
  - its addresses: clean_contact_address, address_from_recipient, default_address,
    display_address, contact_field, unresolved_hint, test_recipient_hint (and suppressible
    with suppression_address when its providers report bounces or opt-outs);
  - its transport: message_limit (or check_text, for SMS segments), success_status,
    reports_fate (reports_fate_for when its providers differ), fate_steps, send, and a
    classify that sorts the provider's answers into permanent and transient, linking the
    provider's doc; clean_options and options_schema when /send's channel_options has an
    entry for it;
  - its pacing: pacing (the buckets a delivery takes tokens from, at the rates the
    provider publishes, linked) and pacing_cost where the provider counts segments; its
    clean_config takes max_per_second (pacing.clean_rate) and its form_fields the
    rate's field (rate_field.py);
  - its test mode: simulated_as, the address family its magic recipients come from
    (simulator/magic.py: EMAIL, PHONE or CHAT); the simulator needs nothing else;
then one line in REGISTRY below, and its fake provider and tests in tests/. No migration:
the model fields' choices call kind_choices(). Code two kinds share lives next to them
(webhook_url.py). tests/test_layout.py checks that the rest of the code barely names it.
"""

from functools import cache

from django.utils.module_loading import import_string

from channels_app.integrations.base import Integration

REGISTRY: dict[str, str] = {
    "email": "channels_app.integrations.email.integration.EmailIntegration",
    "telegram": "channels_app.integrations.telegram.integration.TelegramIntegration",
    "slack": "channels_app.integrations.slack.integration.SlackIntegration",
    "discord": "channels_app.integrations.discord.integration.DiscordIntegration",
    "whatsapp": "channels_app.integrations.whatsapp.integration.WhatsAppIntegration",
    "sms": "channels_app.integrations.sms.integration.SmsIntegration",
}


def channel_kinds() -> tuple[str, ...]:
    """The channel kinds, in the order forms and error messages list them."""
    return tuple(REGISTRY)


def kind_choices() -> list[tuple[str, str]]:
    """(kind, title) pairs: the `choices` of the model fields that store a kind."""
    return [(kind, get_integration(kind).title) for kind in REGISTRY]


@cache
def get_integration(kind: str) -> Integration:
    return import_string(REGISTRY[kind])()
