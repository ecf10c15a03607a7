"""Twilio's error codes that a send answer or a status callback carries, and what each
means for us: https://www.twilio.com/docs/api/errors (one page per code, e.g.
https://www.twilio.com/docs/api/errors/21211).

The same code can arrive synchronously (the 4xx answer to POST …/Messages.json has
`{"code": 21211, "message": …}`) or later (a status callback with MessageStatus=undelivered
or failed and ErrorCode=30003): both are looked up here, so a cause reads the same in the
delivery log wherever Twilio reported it.
"""

from channels_app.integrations.base import ProviderCodes

TABLE = ProviderCodes(
    permanent={
        # Credentials and account
        20003: "the Account SID or Auth Token is wrong (authentication failed)",
        20404: "Twilio does not know this Account SID or resource",
        30002: "the Twilio account is suspended",
        # The recipient's number
        21211: "the recipient's phone number is not valid",
        21214: "the recipient's phone number cannot be reached",
        21408: "sending to this region is not enabled on the Twilio account",
        21610: "the recipient has replied STOP (unsubscribed from this sender)",
        21612: "Twilio cannot route messages between these two numbers",
        21614: "the recipient's number is not a mobile number",
        30003: "the recipient's handset is unreachable",
        30005: "the recipient's number is unknown to the carrier (may no longer exist)",
        30006: "the recipient's number is a landline or its carrier cannot be reached",
        # The sender
        21212: "the sender number ('from') is not valid",
        21606: "the sender number ('from') is not a message-capable Twilio number",
        21659: "the sender number ('from') is not a Twilio number of this account",
        21703: "the Messaging Service has no phone number to send from",
        30034: "the sender number is not registered for US A2P 10DLC",
        # The message
        21602: "the message body is empty",
        21617: "the message body is longer than Twilio's limit",
        30004: "the message was blocked (by the carrier or the recipient)",
        30007: "the carrier filtered the message as spam",
        # WhatsApp through Twilio
        63003: "the recipient's number is not on WhatsApp",
        63016: (
            "the recipient has not written in the last 24 hours: outside that window "
            "WhatsApp takes only an approved template (channel_options.whatsapp.template)"
        ),
        63024: "the recipient is not a valid WhatsApp user",
        63032: "WhatsApp refused the message for this user",
    },
    transient={
        14107: "Twilio's send rate limit for this account was exceeded",
        20429: "too many requests to Twilio at once",
        30001: "Twilio's queue for this sender overflowed",
        30008: "an unknown error at the carrier (Twilio advises retrying)",
        30017: "the carrier network is congested",
        63018: "the WhatsApp rate limit for this sender was exceeded",
        63038: "the WhatsApp daily message limit of this sender was reached",
    },
    # The recipient replied STOP (or another opt-out keyword) to this sender, and Twilio
    # refuses every message to them until they reply START:
    # https://www.twilio.com/docs/api/errors/21610 and
    # https://help.twilio.com/articles/223134027-Twilio-support-for-opt-out-keywords-SMS-STOP-filtering-
    # The number joins the account's suppression list, so later sends fail without a call.
    opt_out=frozenset({21610}),
)


# The meaning of a code, or None when the table does not know it.
lookup = TABLE.lookup
