"""Mailgun's webhooks (delivered, failed, opened, clicked, complained…), read with
anymail's MailgunTrackingWebhookView and verified with the channel's HTTP webhook signing
key: HMAC-SHA256 of timestamp + token.
https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks
"""

from typing import Any

from anymail.signals import AnymailTrackingEvent
from anymail.webhooks.mailgun import MailgunTrackingWebhookView

from channels_app.integrations.callbacks import CallbackRequest, VerificationFailed
from channels_app.integrations.email.tracking import HARD, SOFT, AnymailTracking


class MailgunTracking(AnymailTracking):
    name = "mailgun"
    title = "Mailgun"
    view_class = MailgunTrackingWebhookView
    verified_with = "this channel's webhook_signing_key"
    setup_help = (
        "In Mailgun, open *Sending → Webhooks* for your sending domain and add this URL for "
        "*Delivered*, *Permanent failure*, *Temporary failure*, *Spam complaint*, *Opened* "
        "and *Clicked*; then copy the *HTTP webhook signing key* from the same page into the "
        "channel's `webhook_signing_key` (reports are refused until it is set). "
        "[Mailgun's guide](https://documentation.mailgun.com/docs/mailgun/user-manual/"
        "tracking-messages/#webhooks)"
    )

    def view_kwargs(self, request: CallbackRequest, config: dict[str, Any]) -> dict[str, Any]:
        key = config.get("webhook_signing_key") or ""
        if not key:
            raise VerificationFailed(
                "This channel has no webhook_signing_key yet, so Mailgun's signature cannot "
                "be checked: set it from Mailgun's Webhooks page."
            )
        return {"webhook_signing_key": key}

    def provider_status(self, event: AnymailTrackingEvent) -> str:
        data = _event_data(event)
        name = str(data.get("event") or "")
        severity = data.get("severity")
        return f"{name} ({severity})" if name and severity else name or event.event_type

    def bounce_type(self, event: AnymailTrackingEvent) -> str:
        data = _event_data(event)
        # `severity` says whether Mailgun gave up on the address ("permanent") or will try
        # again ("temporary"); legacy "bounced" posts were permanent failures, and "dropped"
        # ones with reason "hardfail" (a previous bounce) too.
        # https://documentation.mailgun.com/docs/mailgun/user-manual/events/#event-structure
        if data.get("severity") == "permanent":
            return HARD
        if data.get("event") == "bounced" or data.get("reason") == "hardfail":
            return HARD
        return SOFT


def _event_data(event: AnymailTrackingEvent) -> dict[str, Any]:
    raw = event.esp_event
    if hasattr(raw, "lists"):  # a legacy form post: its fields, first values
        return {key: raw.get(key) for key in ("event", "severity", "reason")}
    data = raw.get("event-data") if isinstance(raw, dict) else None
    return data if isinstance(data, dict) else {}
