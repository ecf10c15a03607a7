"""Postmark's webhooks (Delivery, Bounce, SpamComplaint, Open, Click), read with anymail's
PostmarkTrackingWebhookView. https://postmarkapp.com/developer/webhooks/webhooks-overview

Postmark signs nothing it posts; it authenticates with HTTP basic-auth credentials put in
the webhook URL (https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-
your-webhook), so the channel's tracking_webhook_url carries them and anymail's basic-auth
check (`webhook_secret`) is the verification.
"""

from typing import Any

from anymail.signals import AnymailTrackingEvent
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.utils.crypto import salted_hmac

from channels_app.integrations.callbacks import CallbackRequest
from channels_app.integrations.email.tracking import HARD, SOFT, AnymailTracking

USER = "oneping"
KEY_SALT = "channels_app.integrations.postmark.callbacks.basic-auth"
# Bounce `Type`s that name the address itself bad: Postmark deactivates it and will not
# send to it again. https://postmarkapp.com/developer/api/bounce-api#bounce-types
HARD_TYPES = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}


def password(token: str, secret: str | None = None) -> str:
    """The basic-auth password of the channel with this callback token.

    Derived (an HMAC keyed with SECRET_KEY over the callback token), not stored: nothing to
    keep in the channel's config, which only the channel's own fields may hold, and no new
    secret at rest; the token alone (in the URL's path, shown to `read` keys as the status
    callback URL) does not give it. Rotating SECRET_KEY changes it: the old key, kept in
    SECRET_KEY_FALLBACKS while customers paste the new URL, still verifies (credentials).
    """
    return salted_hmac(KEY_SALT, token, secret=secret, algorithm="sha256").hexdigest()[:40]


def credentials(token: str) -> list[str]:
    """Every "user:password" that verifies: SECRET_KEY's first (the one shown), then the
    fallbacks'."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [f"{USER}:{password(token, key)}" for key in keys]


class PostmarkTracking(AnymailTracking):
    name = "postmark"
    title = "Postmark"
    view_class = PostmarkTrackingWebhookView
    verified_with = "the user and password in this channel's tracking_webhook_url (basic auth)"
    setup_help = (
        "In Postmark, open your server's *Settings → Webhooks → Add webhook*, paste this "
        "URL as the *Webhook URL* (the user and password in it are this channel's: Postmark "
        "sends them as HTTP basic auth), and tick *Delivery*, *Bounce*, *Spam complaint*, "
        "*Open* and *Link click*. "
        "[Postmark's guide](https://postmarkapp.com/developer/webhooks/webhooks-overview)"
    )

    def url_credentials(self, token: str) -> str:
        return credentials(token)[0]

    def view_kwargs(self, request: CallbackRequest, config: dict[str, Any]) -> dict[str, Any]:
        return {"webhook_secret": credentials(request.token)}

    def provider_status(self, event: AnymailTrackingEvent) -> str:
        raw = event.esp_event
        record = str(raw.get("RecordType") or "")
        # A Bounce's (or SpamComplaint's) kind is its Type: HardBounce, SoftBounce, Transient…
        if record in ("Bounce", "SpamComplaint") and raw.get("Type"):
            return str(raw["Type"])
        return record or event.event_type

    def bounce_type(self, event: AnymailTrackingEvent) -> str:
        raw = event.esp_event
        # Inactive: Postmark deactivated the address after this bounce (no more sends to it).
        # https://postmarkapp.com/developer/webhooks/bounce-webhook
        return HARD if raw.get("Type") in HARD_TYPES or raw.get("Inactive") is True else SOFT
