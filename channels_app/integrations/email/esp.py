"""Sending through an email service provider's API with django-anymail's backend for it.

Each account's credentials go to the backend per connection (get_connection(backend,
server_token=…/api_key=…, api_url=…)), never through global settings, so two accounts'
sends in one worker never share a key. The API base URL is the operator's setting
(ONEPING_<PROVIDER>_API_URL), so tests and staging point it at a local fake.

What the provider answers (https://anymail.dev/en/stable/sending/anymail_additions/#anymail.message.AnymailStatus):
- anymail_status "queued" or "sent": accepted; its message id is the delivery's
  provider_message_id, which the provider's tracking webhooks name;
- "rejected" or "invalid" (AnymailRecipientsRefused when every recipient is): permanent,
  naming the provider's reason;
- HTTP 408, 429 and 5xx, and network errors: transient (the retry policy sends again);
  any other 4xx (bad credentials, an unverified sender): permanent.
"""

from typing import Any, ClassVar

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core.mail import EmailMultiAlternatives, get_connection

from channels_app.integrations.base import EXCERPT_LIMIT, Outgoing, SendResult, TransportError
from channels_app.integrations.email.providers import EmailProvider
from channels_app.integrations.email.rendering import render
from oneping.http import parse_retry_after

ACCEPTED = {"queued", "sent"}


class AnymailProvider(EmailProvider):
    """Base of the providers reached through an anymail backend."""

    # anymail's backend, e.g. "anymail.backends.postmark.EmailBackend".
    backend: ClassVar[str]
    reports_fate = True

    def connection_kwargs(self, config: dict[str, Any]) -> dict[str, Any]:
        """The backend's per-connection settings: the account's credentials and api_url."""
        raise NotImplementedError

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        connection = get_connection(self.backend, **self.connection_kwargs(config))
        rendered = render(outgoing.text)
        email = EmailMultiAlternatives(
            subject=outgoing.subject,
            body=rendered.text,
            from_email=config["from_email"],
            to=[outgoing.target],
            connection=connection,
        )
        email.attach_alternative(rendered.html, "text/html")
        # anymail's own attributes: tracking asked of the provider with each send, so opens
        # and clicks do not depend on the customer's provider settings; the delivery's id
        # travels as metadata (shown in the provider's logs and webhooks).
        email.track_opens = bool(config.get("track_opens"))
        email.track_clicks = bool(config.get("track_clicks"))
        email.metadata = {"oneping_delivery": outgoing.delivery_id}
        try:
            email.send(fail_silently=False)
        except AnymailError as exc:
            raise self.classify(exc) from None
        status = email.anymail_status
        recipient = status.recipients.get(outgoing.target.lower()) or next(
            iter(status.recipients.values()), None
        )
        state = recipient.status if recipient is not None else None
        message_id = (recipient.message_id if recipient is not None else None) or ""
        if state not in ACCEPTED:
            raise TransportError(
                f"{self.title} did not accept the message for {outgoing.target}: it says "
                f"{state or 'nothing'}.",
                permanent=True,
                response_excerpt=_excerpt(status.esp_response),
            )
        return SendResult(
            provider_message_id=str(message_id),
            response_excerpt=f"{self.title}: {state} {message_id}",
        )

    def classify(self, exc: AnymailError) -> TransportError:
        """anymail's exceptions sorted into permanent and transient (module docstring)."""
        if isinstance(exc, AnymailRecipientsRefused):
            return TransportError(
                f"{self.title} refused the recipient: {exc.describe_response() or exc}",
                permanent=True,
            )
        if isinstance(exc, AnymailRequestsAPIError) and exc.response is None:
            # Timeouts and connection errors: anymail wraps requests' own exceptions.
            return TransportError(f"Could not reach {self.title}'s API.", permanent=False)
        if isinstance(exc, AnymailAPIError):
            code = exc.status_code
            response = getattr(exc, "response", None)
            permanent = code is not None and code < 500 and code not in (408, 429)
            retry_after = None
            if response is not None and not permanent:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TransportError(
                f"{self.title} answered {code}: {exc.describe_response() or 'no details'}",
                permanent=permanent,
                retry_after=retry_after,
                response_excerpt=_excerpt(response),
            )
        return TransportError(
            f"Sending through {self.title} failed ({type(exc).__name__}).", permanent=True
        )


def _excerpt(response: Any) -> str:
    if response is None:
        return ""
    return f"HTTP {response.status_code}: {response.text[:EXCERPT_LIMIT]}"
