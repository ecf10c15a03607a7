"""Resend's webhooks (email.sent, delivered, bounced, complained, opened, clicked…), read
with anymail's ResendTrackingWebhookView and verified with the webhook's signing secret
(`whsec_…`), the Svix / Standard Webhooks way.
https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests
"""

from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from anymail.webhooks.resend import ResendTrackingWebhookView

from channels_app.integrations.callbacks import CallbackRequest, VerificationFailed
from channels_app.integrations.email.tracking import HARD, SOFT, AnymailTracking


class ResendView(ResendTrackingWebhookView):
    # Two event types Resend added after anymail's table: a send that failed (a quota, an
    # unverified domain) and an address Resend would not send to (its suppression list).
    # https://resend.com/docs/dashboard/webhooks/event-types
    event_types = {
        **ResendTrackingWebhookView.event_types,
        "email.failed": EventType.FAILED,
        "email.suppressed": EventType.REJECTED,
    }


class ResendTracking(AnymailTracking):
    name = "resend"
    title = "Resend"
    view_class = ResendView
    verified_with = "this channel's webhook_secret"
    setup_help = (
        "In Resend, open *Webhooks → Add Webhook*, paste this URL as the *Endpoint URL* and "
        "choose the `email.*` events; then copy the webhook's *Signing Secret* (`whsec_…`) "
        "into the channel's `webhook_secret` (reports are refused until it is set). "
        "[Resend's guide](https://resend.com/docs/dashboard/webhooks/introduction)"
    )

    def view_kwargs(self, request: CallbackRequest, config: dict[str, Any]) -> dict[str, Any]:
        secret = config.get("webhook_secret") or ""
        if not secret:
            raise VerificationFailed(
                "This channel has no webhook_secret yet, so Resend's signature cannot be "
                "checked: set it to the webhook's signing secret (whsec_…)."
            )
        return {"signing_secret": secret}

    def provider_status(self, event: AnymailTrackingEvent) -> str:
        raw = event.esp_event
        return str(raw.get("type") or event.event_type) if isinstance(raw, dict) else ""

    def bounce_type(self, event: AnymailTrackingEvent) -> str:
        raw = event.esp_event if isinstance(event.esp_event, dict) else {}
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        if raw.get("type") == "email.failed":
            return SOFT  # Resend's own failure to send, not the address's
        bounce = data.get("bounce") if isinstance(data.get("bounce"), dict) else {}
        # bounce.type is "Permanent", "Transient" or "Undetermined"; an email.bounced
        # without it is the recipient's server rejecting the email for good, as Resend
        # documents the event. https://resend.com/docs/webhooks/emails/bounced
        kind = str(bounce.get("type") or "Permanent")
        return HARD if kind == "Permanent" else SOFT
