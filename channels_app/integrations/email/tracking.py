"""Email providers' tracking webhooks (delivered, bounced, complained, opened, clicked…),
read with django-anymail's own tracking views: one CallbackProvider base, one small
subclass per provider (integrations/<provider>/callbacks.py).

anymail's views take their secret when they are made (`as_view(webhook_secret=…)`, or a
global ANYMAIL setting), which suits one site with one provider account. Here each channel
is an account's own provider account, so a view is made per request with that channel's
secret as anymail's kwarg, and only two of its steps are used: its validators (basic auth,
Mailgun's HMAC, Resend's Svix/Standard Webhooks signature) and parse_events, which
normalises the provider's body into AnymailTrackingEvents
(https://anymail.dev/en/stable/sending/tracking/#normalized-tracking-event). Storing,
answering and applying them are every provider's (channels_app.callbacks, .reports).
"""

import hashlib
import json
from typing import Any, ClassVar

from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailError,
    AnymailWebhookValidationFailure,
)
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.webhooks.base import AnymailCoreWebhookView

from channels_app.integrations import callbacks
from channels_app.integrations.callbacks import (
    CallbackProvider,
    CallbackRequest,
    ParsedReport,
    VerificationFailed,
)

# anymail's normalised event types → what a report says (channels_app.reports ranks them).
# Anything else (unsubscribed, subscribed, autoresponded, unknown, inbound) says nothing
# about this message's fate: acknowledged, not stored.
STATUSES = {
    EventType.QUEUED: callbacks.SENT,
    EventType.SENT: callbacks.SENT,
    EventType.DELIVERED: callbacks.DELIVERED,
    EventType.OPENED: callbacks.OPENED,
    EventType.CLICKED: callbacks.CLICKED,
    EventType.DEFERRED: callbacks.DEFERRED,
    # A rejection by the provider and a failure to send end the message as a bounce does:
    # it will not arrive.
    EventType.BOUNCED: callbacks.BOUNCED,
    EventType.REJECTED: callbacks.BOUNCED,
    EventType.FAILED: callbacks.BOUNCED,
    EventType.COMPLAINED: callbacks.COMPLAINED,
}
HARD, SOFT = "hard", "soft"


class AnymailTracking(CallbackProvider):
    """Base of an email provider's tracking webhook handler."""

    # anymail's tracking view for the provider, e.g. PostmarkTrackingWebhookView.
    view_class: ClassVar[type[AnymailCoreWebhookView]]
    told_with_each_send = False  # pasted once into the provider's webhook settings
    # What a post must verify with, for the refusal's message.
    verified_with: ClassVar[str]

    def view_kwargs(self, request: CallbackRequest, config: dict[str, Any]) -> dict[str, Any]:
        """anymail's kwargs for this channel's view: its secret. Raise VerificationFailed
        when the channel has none yet (nothing could be checked)."""
        raise NotImplementedError

    def provider_status(self, event: AnymailTrackingEvent) -> str:
        """The provider's own name for the event (the timeline's "Postmark reported …")."""
        raise NotImplementedError

    def bounce_type(self, event: AnymailTrackingEvent) -> str:
        """HARD or SOFT, from the provider's own field, for a bounce."""
        raise NotImplementedError

    def _view(self, request: CallbackRequest, config: dict[str, Any]) -> AnymailCoreWebhookView:
        # Always our kwargs, never a global ANYMAIL setting: webhook_secret (basic auth)
        # is given even when empty, so an operator's ANYMAIL["WEBHOOK_SECRET"] neither
        # opens nor locks a channel's URL.
        kwargs = {"webhook_secret": [], **self.view_kwargs(request, config)}
        try:
            return self.view_class(**kwargs)
        except Exception:  # a key that is not ASCII, a whsec_ secret that is not base64 (or empty)
            raise VerificationFailed(
                f"This channel's {self.title} webhook secret is not a valid key: copy it "
                f"again from {self.title}."
            ) from None

    def verify(self, request: CallbackRequest, config: dict[str, Any]) -> None:
        if request.http is None:  # anymail's checks read the request itself
            raise VerificationFailed(f"{self.title}'s request is not at hand to verify.")
        view = self._view(request, config)
        try:
            view.run_validators(request.http)
        except AnymailWebhookValidationFailure as exc:
            # anymail's reason, without its advice to check an ANYMAIL setting (ours are
            # per channel).
            reason = str(exc).split(" (check Anymail")[0]
            raise VerificationFailed(
                f"{reason}: it must verify with {self.verified_with}."
            ) from None
        except ValueError:
            # Svix parses the body once the signature matches: a body that is not JSON is
            # refused like an unsigned one (no provider sends it; nothing is taken on trust).
            raise VerificationFailed(f"The body is not {self.title}'s JSON.") from None

    def reports(self, request: CallbackRequest, config: dict[str, Any]) -> list[ParsedReport]:
        try:
            events = self._view(request, config).parse_events(request.http)
        except (
            AnymailError,
            AnymailConfigurationError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ):
            # A verified body anymail cannot read (an inbound hook pointed here, a shape it
            # does not know): acknowledged, so the provider does not retry it for days.
            return []
        found = []
        for event in events:
            report = self._report(event)
            if report is not None:
                found.append(report)
        return found

    def _report(self, event: AnymailTrackingEvent) -> ParsedReport | None:
        status = STATUSES.get(event.event_type)
        if status is None or not event.message_id:
            return None
        provider_status = self.provider_status(event)
        bounce_type = self.bounce_type(event) if status == callbacks.BOUNCED else ""
        error_text = ""
        if status in (callbacks.BOUNCED, callbacks.COMPLAINED, callbacks.DEFERRED):
            said = [part for part in (event.description, event.mta_response) if part]
            error_text = " — ".join(dict.fromkeys(str(part).strip() for part in said))
        # What is kept: anymail's normalised fields, not the provider's whole body (which
        # can carry the message's content, as Postmark's bounce `Content` does).
        payload = {
            "event_type": event.event_type,
            "provider_event": provider_status,
            "message_id": event.message_id,
            "event_id": event.event_id,
            "recipient": event.recipient,
            "timestamp": event.timestamp.isoformat() if event.timestamp else None,
            "reject_reason": event.reject_reason,
            "description": event.description,
            "mta_response": event.mta_response,
            "click_url": event.click_url,
            "user_agent": event.user_agent,
            "bounce_type": bounce_type or None,
        }
        payload = {key: value for key, value in payload.items() if value not in (None, "")}
        return ParsedReport(
            provider_message_id=str(event.message_id),
            status=status,
            provider_status=provider_status,
            dedup_key=self.dedup_key(event, provider_status),
            payload=payload,
            error_text=error_text,
            bounce_type=bounce_type,
            provider_timestamp=event.timestamp,
        )

    def dedup_key(self, event: AnymailTrackingEvent, provider_status: str) -> str:
        """The provider's event id when it gives one (the same on its retries), else a hash
        of the event's own body: a retry posts the same body; two opens differ in time."""
        if event.event_id:
            return f"{self.name}:{event.event_id}"
        raw = event.esp_event
        if hasattr(raw, "lists"):  # a form post's QueryDict (Mailgun's legacy webhooks)
            raw = {key: values for key, values in raw.lists()}
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
        return f"{event.message_id}:{provider_status}:{digest}"
