"""Phone numbers in E.164 and SMS segments (channels_app/integrations/phone.py), checked
against the rules they cite: 3GPP TS 23.038's GSM 7-bit tables and Twilio's segment sizes
(https://www.twilio.com/docs/glossary/what-sms-character-limit)."""

import pytest

from channels_app.integrations.phone import GSM7, UCS2, InvalidNumber, e164, sms_length

# --- Segments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),  # 153 + 8
        ("a" * 306, GSM7, 306, 2),
        ("a" * 307, GSM7, 307, 3),
        # Greek capitals, £, ¥, Ä… are in the basic table: still GSM-7.
        ("ΔΦΓΛΩΠΨΣΘΞ£¥ÄÖÑÜäöñüàèéùìòÇØøÅåÆæßÉ§¿¡" * 4, GSM7, 152, 1),
        # The extension table's characters take an escape: two septets each.
        ("€" * 80, GSM7, 160, 1),
        ("€" * 81, GSM7, 162, 2),
        ("{}[]~|^\\\f€", GSM7, 20, 1),
        ("a" + "€" * 80, GSM7, 161, 2),
        # An escaped pair is never split: 152 + (2) does not fit the first 153-septet part.
        ("a" * 152 + "€" + "a" * 152, GSM7, 306, 3),
        # One character outside GSM-7 sends the whole text as UCS-2: 70 / 67.
        ("a" * 69 + "ć", UCS2, 70, 1),
        ("a" * 70 + "ć", UCS2, 71, 2),
        ("ć" * 134, UCS2, 134, 2),
        ("ć" * 135, UCS2, 135, 3),
        ("Привет, мир", UCS2, 11, 1),
        # Curly quotes are not GSM-7 (a common surprise).
        ("“quoted”", UCS2, 8, 1),
        # An emoji outside the BMP is a surrogate pair: two UTF-16 code units.
        ("😀" * 35, UCS2, 70, 1),
        ("😀" * 36, UCS2, 72, 2),
        # … never split across segments either.
        ("ć" * 66 + "😀" + "ć" * 66, UCS2, 134, 3),
    ],
)
def test_segments(text, encoding, units, segments):
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


# --- E.164 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+14155550100", "+14155550100"),
        ("+1 (415) 555-0100", "+14155550100"),
        (" +44 20 7946 0958 ", "+442079460958"),
        ("+33 6 12 34 56 78", "+33612345678"),
    ],
)
def test_numbers_with_a_plus_are_normalised_to_e164(settings, given, expected):
    settings.ONEPING_DEFAULT_REGION = ""
    assert e164(given) == expected


def test_without_a_default_region_a_leading_plus_is_required(settings):
    settings.ONEPING_DEFAULT_REGION = ""
    with pytest.raises(InvalidNumber) as caught:
        e164("020 7946 0958")
    assert caught.value.reason == "it needs a leading + and its country code, like +14155550100"


def test_with_a_default_region_national_numbers_are_read_as_its_own(settings):
    settings.ONEPING_DEFAULT_REGION = "GB"
    assert e164("020 7946 0958") == "+442079460958"
    assert e164("07400 123456") == "+447400123456"
    # A + still names its own country.
    assert e164("+1 415 555 0100") == "+14155550100"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("+1 415", "it is too short"),
        ("+44 20 7946 0958 1234 5678", "it is too long"),
        ("+999 1234 5678", "its country code is not valid"),
        ("+hello", "it is not a phone number"),
        (
            "+1 415 055 0100",
            "it is not a valid number in its country (+1): no such area code or number range",
        ),
    ],
)
def test_invalid_numbers_name_the_reason(settings, given, reason):
    settings.ONEPING_DEFAULT_REGION = ""
    with pytest.raises(InvalidNumber) as caught:
        e164(given)
    assert caught.value.reason == reason
