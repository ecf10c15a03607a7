"""SMS through Twilio's Messages API:
https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource"""

from typing import Any, ClassVar

from django import forms

from channels_app import pacing
from channels_app.integrations.base import ConfigError, Integration, Outgoing, SendResult
from channels_app.integrations.phone import PhoneAddresses, sms_length
from channels_app.integrations.rate_field import rate_form_field
from channels_app.integrations.simulator.magic import PHONE
from channels_app.integrations.twilio import client
from channels_app.integrations.twilio.config import (
    MESSAGING_SERVICE_SID_RE,
    SETUP_HELP,
    clean_credentials,
    clean_sender,
    credential_fields,
    sender_ident,
    sid,
)
from channels_app.pacing import Bucket
from oneping.apiforms import GuidedChoiceField
from oneping.errors import ServiceError

FIELDS = {
    "provider",
    "account_sid",
    "auth_token",
    "from",
    "messaging_service_sid",
    pacing.RATE_FIELD,
}
PROVIDERS = ("twilio",)
# Twilio takes a Body of up to 1,600 characters and advises against more than 10 segments
# (https://www.twilio.com/docs/glossary/what-sms-character-limit): each is billed, and
# carriers may drop long concatenated messages.
MAX_SEGMENTS = 10
# Twilio releases each sender's queue at a rate in message segments a second
# (https://help.twilio.com/articles/115002943027, "Understanding Twilio Rate Limits and
# Message Queues"): 1 for a US or Canadian long code, 3 for a toll-free number, 100 for a
# short code, 10 toward other countries; a Messaging Service's is its senders' (or its
# A2P 10DLC campaign's). Nothing in the config tells them apart, so the default is the
# slowest, a long code's; a channel whose sender is faster says so in max_per_second.
# Sending faster only fills Twilio's queue, whose overflow fails later (30001).
SEGMENTS_PER_SECOND = 1.0


class SmsIntegration(PhoneAddresses, Integration):
    kind = "sms"
    title = "SMS"
    simulated_as = PHONE
    setup_help = (
        f"{SETUP_HELP}; or give a *Messaging Service SID* (`MG…`, under *Messaging → "
        "Services*) instead, to let the service pick the sender."
    )
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "provider": GuidedChoiceField(choices=[("twilio", "Twilio")], initial="twilio"),
        **credential_fields(required=True),
        "from": forms.CharField(
            label="From number",
            required=False,
            help_text="A number of the Twilio account, like +14155550100.",
        ),
        "messaging_service_sid": forms.CharField(
            label="Messaging Service SID",
            required=False,
            help_text="MG…; instead of a From number.",
        ),
        pacing.RATE_FIELD: rate_form_field(
            "1 segment a second, a long code's; raise it for a toll-free number (3) or a "
            "short code."
        ),
    }
    unresolved_hint = (
        "send a phone number with its country code (like +14155550100) as recipient, or add "
        "a contact with addresses.sms."
    )
    secret_fields = ("auth_token",)
    # The token only ever goes to ONEPING_TWILIO_API_BASE, the operator's setting, as the
    # password of the account it belongs to: no config field moves it.
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {"auth_token": ()}
    success_status = "sent"  # Twilio accepted it; the handset's answer comes by callback
    reports_fate = True

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        unknown = set(config) - FIELDS
        if unknown:
            raise ConfigError(
                sorted(unknown)[0], f"Unknown field: the config takes {', '.join(sorted(FIELDS))}."
            )
        provider = config.get("provider", "twilio")
        if provider not in PROVIDERS:
            raise ConfigError("provider", 'SMS goes through Twilio: set provider to "twilio".')
        cleaned: dict[str, Any] = {"provider": provider, **clean_credentials(config)}
        sender, service = config.get("from"), config.get("messaging_service_sid")
        if sender not in (None, "") and service not in (None, ""):
            raise ConfigError(
                "messaging_service_sid",
                "Give either from or messaging_service_sid, not both: Twilio takes one sender.",
            )
        if service not in (None, ""):
            cleaned["messaging_service_sid"] = sid(
                config,
                "messaging_service_sid",
                MESSAGING_SERVICE_SID_RE,
                "the Messaging Service SID: MG and 32 hexadecimal digits",
            )
        else:
            cleaned["from"] = clean_sender(sender)
        return pacing.clean_rate(config, cleaned)

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """The sender, in segments a second (pacing_cost): a From number or a Messaging
        Service, whichever the channel sends from."""
        sender = config.get("messaging_service_sid") or config.get("from", "")
        rate = pacing.rate_of(config, SEGMENTS_PER_SECOND)
        return [Bucket("sender", sender_ident(config, sender), rate)]

    def pacing_cost(self, segments: int | None) -> float:
        # Twilio's rate counts segments: a 3-segment text takes 3 s of a long code's queue.
        return float(segments or 1)

    def check_text(self, text: str, config: dict[str, Any]) -> int | None:
        length = sms_length(text)
        if length.segments > MAX_SEGMENTS:
            raise ServiceError(
                "message_too_long",
                f"The message needs {length.segments} SMS segments in {length.encoding}; "
                f"sms takes at most {MAX_SEGMENTS}.",
                details={
                    "channel": self.kind,
                    "segments": length.segments,
                    "encoding": length.encoding,
                    "max_segments": MAX_SEGMENTS,
                },
            )
        return length.segments

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        form = {"To": outgoing.target, "Body": outgoing.text}
        if config.get("messaging_service_sid"):
            form["MessagingServiceSid"] = config["messaging_service_sid"]
        else:
            form["From"] = config["from"]
        return client.create_message(config, form, outgoing.callback_token)

    def status_callback_provider(self, config: dict[str, Any]) -> str | None:
        return client.PROVIDER
