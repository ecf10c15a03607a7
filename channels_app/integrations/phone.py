"""Phone numbers and SMS lengths, shared by the kinds that send to a phone.

E.164 (https://www.itu.int/rec/T-REC-E.164) is the one form stored and sent: a +, the
country code and the national number, nothing else. Twilio wants it in `To` and `From`
(https://www.twilio.com/docs/glossary/what-e164), and WhatsApp's Cloud API takes it in `to`.

An SMS is sent in segments (https://www.twilio.com/docs/glossary/what-sms-character-limit):
a text whose every character is in the GSM 7-bit alphabet (3GPP TS 23.038 §6.2.1, with
its extension table §6.2.1.1, whose characters take an escape and so two septets) fits
160 septets in one message, 153 per segment once split (the concatenation header takes the
rest, https://www.twilio.com/docs/glossary/what-is-gsm-7-character-encoding). Any other
character sends the whole text as UCS-2 (https://www.twilio.com/docs/glossary/what-is-ucs-2-character-encoding):
70 UTF-16 code units in one message, 67 per segment, an emoji outside the Basic
Multilingual Plane counting two (a surrogate pair).
"""

from dataclasses import dataclass
from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from phonenumbers import NumberParseException, ValidationResult

from channels_app.integrations.base import ConfigError

# 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet, in table order (0x00 to 0x7F) with
# 0x1B left out: it is the escape to the extension table, not a character of its own.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# §6.2.1.1, the extension table: each is sent as ESC + a septet.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
# (one message alone, each segment of a split one), in septets or UTF-16 code units.
CAPACITY = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM7 or UCS2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_length(text: str) -> SmsLength:
    """How many segments `text` is sent in, and in which encoding."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = GSM7
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
    else:
        encoding = UCS2
        sizes = [len(char.encode("utf-16-le")) // 2 for char in text]
    single, per_segment = CAPACITY[encoding]
    units = sum(sizes)
    if units <= single:
        return SmsLength(encoding, units, 1)
    # Filled character by character: an escaped character (two septets) or a surrogate
    # pair is never split across two segments, so a segment may end one unit short.
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding, units, segments)


class InvalidNumber(ValueError):
    """A phone number that cannot be used; `reason` says why, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# phonenumbers' reasons (https://github.com/daviddrysdale/python-phonenumbers, mirroring
# libphonenumber's NumberParseException.ErrorType and ValidationResult) in our words.
PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is not valid",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}
LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "its country code is not valid",
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "its length is not valid for its country",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
        "it is too short: a local number, give its area code too"
    ),
}
NEEDS_PLUS = "it needs a leading + and its country code, like +14155550100"


def default_region() -> str | None:
    """Where numbers without a leading + are read (ONEPING_DEFAULT_REGION); None: nowhere."""
    return settings.ONEPING_DEFAULT_REGION or None


def e164(value: str) -> str:
    """The number in E.164 (+14155550100); raises InvalidNumber naming the reason.

    A leading + is required unless ONEPING_DEFAULT_REGION says which country's numbers the
    others are."""
    text = value.strip()
    region = default_region()
    if not text.startswith("+") and region is None:
        raise InvalidNumber(NEEDS_PLUS)
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidNumber(PARSE_REASONS.get(exc.error_type, "it is not a phone number")) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise InvalidNumber(LENGTH_REASONS.get(possible, "it is not a possible number"))
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(
            f"it is not a valid number in its country (+{number.country_code}): no such "
            "area code or number range"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_a_number(value: str) -> bool:
    """Whether a /send recipient is meant as a phone number (digits, maybe a leading +, and
    the usual separators) rather than a contact's identifier."""
    text = value.strip()
    body = text[1:] if text.startswith("+") else text
    digits = sum(char.isdigit() for char in body)
    return digits >= 3 and all(char.isdigit() or char in " -.()" for char in body)


class PhoneAddresses:
    """The address rules of a kind that sends to phone numbers (mixed into its Integration):
    contacts' addresses and /send recipients are numbers, stored and sent in E.164."""

    kind: str
    contact_field = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text="A phone number with its country code, like +14155550100.",
    )
    test_recipient_hint = (
        "A phone number with its country code (like +14155550100) or a contact's identifier."
    )
    # A STOP reply (Twilio's 21610) puts a number on the suppression list; numbers are
    # E.164 already on deliveries, so they compare as they are.
    suppressible = True

    def clean_contact_address(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.kind, f"Enter a phone number: {NEEDS_PLUS}.")
        try:
            return e164(value)
        except InvalidNumber as exc:
            raise ConfigError(self.kind, f"Enter a usable phone number: {exc.reason}.") from None

    def address_from_recipient(self, recipient: str) -> str | None:
        """The recipient in E.164 when it is meant as a number; ConfigError with the reason
        when it is one but cannot be used (channels_app.addresses answers
        recipient_unresolved naming it)."""
        if not looks_like_a_number(recipient):
            return None
        try:
            return e164(recipient)
        except InvalidNumber as exc:
            raise ConfigError(self.kind, exc.reason, code="recipient_unresolved") from None
