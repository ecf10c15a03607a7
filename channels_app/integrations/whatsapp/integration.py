"""WhatsApp, through Twilio (https://www.twilio.com/docs/whatsapp/api) or Meta's Cloud API
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).

A business may write to a user freely only within 24 hours of the user's last message;
otherwise WhatsApp takes only an approved template
(https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows), which a
send names in `channel_options.whatsapp.template`, in its provider's shape.
"""

from typing import Any, ClassVar

from django import forms

from channels_app import pacing
from channels_app.integrations.base import (
    ConfigError,
    Integration,
    Outgoing,
    SendResult,
    text_too_long,
)
from channels_app.integrations.phone import PhoneAddresses
from channels_app.integrations.rate_field import rate_form_field
from channels_app.integrations.simulator.magic import PHONE
from channels_app.integrations.twilio import client as twilio
from channels_app.integrations.twilio import content
from channels_app.integrations.twilio.config import (
    clean_credentials,
    clean_sender,
    credential_fields,
    sender_ident,
)
from channels_app.integrations.whatsapp import meta
from channels_app.pacing import Bucket
from oneping.apiforms import GuidedChoiceField

TWILIO_FIELDS = ("account_sid", "auth_token", "from")
FIELDS = {"twilio": TWILIO_FIELDS, "meta": meta.FIELDS}
SECRETS = {"twilio": ("auth_token",), "meta": meta.SECRETS}
# Longest text each provider takes: Twilio's Body "up to 1,600 characters"
# (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource),
# the Cloud API's text.body 4,096 (…/cloud-api/reference/messages#text-object).
TEXT_LIMITS = {"twilio": 1600, "meta": 4096}
# Twilio names WhatsApp addresses with this prefix in To and From
# (https://www.twilio.com/docs/whatsapp/api#using-phone-numbers-with-whatsapp).
TWILIO_PREFIX = "whatsapp:"
# A test environment's unconfigured channel (config {}: ChannelConfig.simulated) names no
# provider: its text and templates are checked as Twilio's, the stricter text limit.
UNCONFIGURED_PROVIDER = "twilio"
# A business number may send one message every 6 seconds to the same WhatsApp user (bursts
# are borrowed from later), Meta's pair rate limit, error 131056 beyond it:
# https://developers.facebook.com/docs/whatsapp/cloud-api/overview#pair-rate-limits. It is
# WhatsApp's own, so it holds through Twilio too.
PAIR_RATE = 1 / 6
# Each sender's throughput, messages a second: the Cloud API's default of 80 per business
# number (https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput);
# Twilio sets a WhatsApp sender's text throughput to 10 by default, 50 on request
# (https://www.twilio.com/docs/whatsapp/best-practices-and-faqs, "What is the MPS limit").
SENDER_RATES = {"meta": 80.0, "twilio": 10.0}


class WhatsAppIntegration(PhoneAddresses, Integration):
    kind = "whatsapp"
    title = "WhatsApp"
    simulated_as = PHONE
    setup_help = (
        "*Twilio:* the [Twilio Console](https://console.twilio.com/)'s *Account Info* panel "
        "shows the *Account SID* (`AC…`) and the *Auth Token*; the number to send from is "
        "your WhatsApp sender (*Messaging → Senders → WhatsApp senders*). "
        "*Meta:* in your app on [Meta for Developers](https://developers.facebook.com/apps/), "
        "*WhatsApp → API Setup* shows the *Phone number ID* and an access token (for a "
        "lasting one, create a system user in Business Settings with the "
        "`whatsapp_business_messaging` permission); *App settings → Basic* shows the *App "
        "secret*. The verify token is any string you choose: enter it again when you "
        "subscribe the app's webhook to this channel's callback URL."
    )
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "provider": GuidedChoiceField(
            choices=[("twilio", "Twilio"), ("meta", "Meta (WhatsApp Cloud API)")],
            initial="twilio",
        ),
        **credential_fields(required=False, label="Twilio "),
        "from": forms.CharField(
            label="Twilio WhatsApp sender",
            required=False,
            help_text="The sender's number, like +14155550100.",
        ),
        "phone_number_id": forms.CharField(label="Meta phone number ID", required=False),
        "access_token": forms.CharField(
            label="Meta access token",
            required=False,
            widget=forms.PasswordInput(render_value=False),
        ),
        "app_secret": forms.CharField(
            label="Meta app secret",
            required=False,
            widget=forms.PasswordInput(render_value=False),
        ),
        "verify_token": forms.CharField(
            label="Meta verify token",
            required=False,
            widget=forms.PasswordInput(render_value=False),
        ),
        pacing.RATE_FIELD: rate_form_field(
            "the sender's default throughput (Meta 80 a second, Twilio 10); a recipient "
            "gets one message every 6 seconds at most, whatever this says."
        ),
    }
    unresolved_hint = (
        "send a phone number with its country code (like +14155550100) as recipient, or add "
        "a contact with addresses.whatsapp."
    )
    secret_fields = ("auth_token", "access_token", "app_secret", "verify_token")
    # Each token only ever goes to its provider's API base, an operator's setting; the app
    # secret and verify token are never sent: they check what Meta sends us.
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {
        secret: () for secret in secret_fields
    }
    success_status = "sent"  # the provider accepted it; delivered and read come by callback
    fate_steps = ("sent", "delivered", "read")
    reports_fate = True
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "template": {
                "description": "An approved template, in the shape of the channel's "
                "provider; `message` is still required and is what the log shows.",
                "oneOf": [meta.TEMPLATE_SCHEMA, content.TEMPLATE_SCHEMA],
            }
        },
        "additionalProperties": False,
    }

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        provider = config.get("provider")
        if provider not in FIELDS:
            raise ConfigError(
                "provider", 'Set provider to "twilio" or "meta" (WhatsApp Cloud API).'
            )
        allowed = ("provider", *FIELDS[provider], pacing.RATE_FIELD)
        unknown = sorted(set(config) - set(allowed))
        if unknown:
            raise ConfigError(
                unknown[0],
                f"Unknown field for provider {provider}: the config takes "
                f"{', '.join(sorted(allowed))}.",
            )
        if provider == "meta":
            return pacing.clean_rate(config, {"provider": provider, **meta.clean_config(config)})
        sender = config.get("from")
        if isinstance(sender, str) and sender.startswith(TWILIO_PREFIX):
            sender = sender.removeprefix(TWILIO_PREFIX)
        cleaned = {"provider": provider, **clean_credentials(config), "from": clean_sender(sender)}
        return pacing.clean_rate(config, cleaned)

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """The (sender, recipient) pair at Meta's pair rate, then the sender at its
        throughput (the config's max_per_second wins there: the pair's is WhatsApp's)."""
        if config.get("provider") == "meta":
            sender = meta.sender_ident(config)
        else:
            sender = sender_ident(config, config.get("from", ""))
        rate = pacing.rate_of(config, SENDER_RATES.get(config.get("provider"), 10.0))
        return [
            Bucket("pair", f"{sender}\0{target}", PAIR_RATE),
            Bucket("sender", sender, rate),
        ]

    def secrets_in_use(self, config: dict[str, Any]) -> tuple[str, ...]:
        return SECRETS.get(config.get("provider"), self.secret_fields)

    def config_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
        """Only the chosen provider's fields: the form shows both providers' at once."""
        provider = data.get("provider")
        kept = ("provider", *FIELDS.get(provider, ()), pacing.RATE_FIELD)
        return {key: data[key] for key in kept if data.get(key) not in (None, "")}

    def check_text(self, text: str, config: dict[str, Any]) -> int | None:
        limit = TEXT_LIMITS[config.get("provider", UNCONFIGURED_PROVIDER)]
        if len(text) > limit:
            raise text_too_long(self.kind, len(text), limit)
        return None

    def clean_options(self, options: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - {"template"})
        if unknown:
            raise ConfigError(unknown[0], "Unknown option: whatsapp takes template.")
        template = options.get("template")
        if template is None:
            return {}
        if not isinstance(template, dict):
            raise ConfigError("template", "Give the template as an object.")
        if config.get("provider", UNCONFIGURED_PROVIDER) == "meta":
            return {"template": meta.clean_template(template)}
        return {"template": content.clean_template(template)}

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        if config["provider"] == "meta":
            return meta.send(config, outgoing)
        form = {
            "To": f"{TWILIO_PREFIX}{outgoing.target}",
            "From": f"{TWILIO_PREFIX}{config['from']}",
        }
        template = outgoing.options.get("template")
        if template:
            form |= content.template_form(template)
        else:
            form["Body"] = outgoing.text
        return twilio.create_message(config, form, outgoing.callback_token)

    def status_callback_provider(self, config: dict[str, Any]) -> str | None:
        return meta.PROVIDER if config.get("provider") == "meta" else twilio.PROVIDER
