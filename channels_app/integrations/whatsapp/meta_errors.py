"""The WhatsApp Cloud API's error codes, in a send answer (`{"error": {"code": …}}`, most
with HTTP 400, throttling included) or in a status webhook (`statuses[].errors[].code` with
status "failed"), and what each means for us:
https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes

Throttling arrives as HTTP 400 with codes 4, 80007, 130429, 131048 and 131056: by the HTTP
status alone it would look permanent, so the code decides.
"""

from channels_app.integrations.base import ProviderCodes

TABLE = ProviderCodes(
    permanent={
        # Authorization
        0: "Meta refused the access token (AuthException)",
        3: "the app lacks the capability for this API call",
        10: "the access token lacks a permission this call needs",
        190: "the access token has expired or was revoked",
        200: "the access token lacks a permission this call needs",
        # The request
        33: "the phone_number_id is wrong or not reachable with this token",
        100: "a parameter of the request is not valid",
        131008: "a required parameter is missing",
        131009: "a parameter value is not valid",
        131051: "WhatsApp does not support this message type",
        # The recipient
        131021: "the recipient is the sender's own number",
        131026: (
            "the message could not be delivered: the number is not on WhatsApp, or its "
            "app is too old, or it has not accepted WhatsApp's terms"
        ),
        131030: "the recipient is not on the test number's allowed list",
        # The recipient stopped *marketing* messages from this business. Not an opt-out of
        # everything (utility and authentication templates still reach them), so the
        # number does not join the suppression list: oneping cannot tell a marketing send
        # from a one-time code.
        131050: "the recipient has chosen to stop receiving marketing messages from you",
        131047: (
            "the recipient has not written in the last 24 hours: outside that window "
            "WhatsApp takes only an approved template (channel_options.whatsapp.template)"
        ),
        # The business account
        131031: "the WhatsApp Business account is locked",
        131042: "the WhatsApp Business account has a payment problem",
        133010: "the sender's phone number is not registered with the Cloud API",
        368: "the account is temporarily blocked for policy violations",
        # Templates
        132000: "the template's variables do not match its placeholders",
        132001: "the template does not exist in that language",
        132005: "the template's text with its variables is too long",
        132007: "the template's content breaks WhatsApp's policies",
        132012: "a template variable has the wrong format",
        132015: "the template is paused for low quality",
        132016: "the template is disabled",
    },
    transient={
        1: "an unknown error at Meta (API Unknown)",
        2: "Meta's API service is temporarily unavailable",
        4: "the app's call rate limit was reached",
        80007: "the WhatsApp Business account's rate limit was reached",
        130429: "the Cloud API's throughput limit was reached",
        131000: "something went wrong at WhatsApp",
        131016: "the WhatsApp service is temporarily unavailable",
        131048: "WhatsApp's spam rate limit was hit: too many messages refused recently",
        131056: "too many messages from this sender to this recipient in a short time",
    },
)


# The meaning of a code, or None when the table does not know it.
lookup = TABLE.lookup
