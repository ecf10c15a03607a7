"""Sending through an email service provider's API with django-anymail's backend for it.

Each account's credentials go to the backend per connection (get_connection(backend,
server_token=…/api_key=…, api_url=…)), never through global settings, so two accounts'
sends in one worker never share a key. The API base URL is the operator's setting
(ONEPING_<PROVIDER>_API_URL), so tests and staging point it at a local fake.

What the provider answers (https://anymail.dev/en/stable/sending/anymail_additions/#anymail.message.AnymailStatus):
- anymail_status "queued" or "sent": accepted; its message id is the delivery's
  provider_message_id, in the very form anymail's tracking webhooks give as the event's
  message_id (Postmark's MessageID, Mailgun's "<…@domain>" with its angle brackets,
  Resend's email id), so a tracking event finds its delivery;
- "rejected" or "invalid" (AnymailRecipientsRefused when every recipient is): permanent,
  naming the provider's reason;
- HTTP 408, 429 and 5xx, and network errors: transient (the retry policy sends again, no
  sooner than the provider's Retry-After); any other answer (bad credentials, an
  unverified sender, a redirect): permanent.
"""

from functools import cache
from typing import Any, ClassVar

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

from channels_app.integrations.base import (
    EXCERPT_LIMIT,
    Outgoing,
    SendResult,
    TransportError,
    json_object,
)
from channels_app.integrations.email.providers import EmailProvider
from channels_app.integrations.email.rendering import render
from oneping.http import describe_failure, host_of, parse_retry_after

ACCEPTED = {"queued", "sent"}
# How much of the provider's own explanation an error quotes.
REASON_LIMIT = 300


class AnymailProvider(EmailProvider):
    """Base of the providers reached through an anymail backend."""

    # anymail's backend, e.g. "anymail.backends.postmark.EmailBackend".
    backend: ClassVar[str]
    reports_fate = True

    def connection_kwargs(self, config: dict[str, Any]) -> dict[str, Any]:
        """The backend's per-connection settings: the account's credentials and api_url."""
        raise NotImplementedError

    def api_url(self, config: dict[str, Any]) -> str:
        return self.connection_kwargs(config)["api_url"]

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        # django.core.mail.get_connection(backend, **credentials), with the backend's
        # class wrapped so that it never follows a redirect.
        connection = _without_redirects(self.backend)(
            fail_silently=False, **self.connection_kwargs(config)
        )
        rendered = render(outgoing.text)
        email = EmailMultiAlternatives(
            subject=outgoing.subject,
            body=rendered.text,
            from_email=config["from_email"],
            to=[outgoing.target],
            connection=connection,
        )
        email.attach_alternative(rendered.html, "text/html")
        if self.tracks_per_message:
            # Asked of the provider with each send, so opens and clicks do not depend on
            # the settings of the customer's provider account.
            email.track_opens = bool(config.get("track_opens"))
            email.track_clicks = bool(config.get("track_clicks"))
        # The delivery's id travels as metadata (shown in the provider's logs and webhooks).
        email.metadata = {"oneping_delivery": outgoing.delivery_id}
        try:
            email.send(fail_silently=False)
        except AnymailError as exc:
            raise self.classify(exc, self.api_url(config)) from None
        status = email.anymail_status
        recipients = {address.lower(): state for address, state in status.recipients.items()}
        recipient = recipients.get(outgoing.target.lower()) or next(iter(recipients.values()), None)
        state = recipient.status if recipient is not None else None
        message_id = (recipient.message_id if recipient is not None else None) or ""
        if state not in ACCEPTED or not message_id:
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

    def classify(self, exc: AnymailError, api_url: str = "") -> TransportError:
        """anymail's exceptions sorted into permanent and transient (module docstring)."""
        response = getattr(exc, "response", None)
        if isinstance(exc, AnymailRecipientsRefused):
            # Postmark's ErrorCode 406 (inactive recipient: it bounced hard or complained)
            # or 300 naming the To address (https://postmarkapp.com/developer/api/overview#error-codes).
            return TransportError(
                f"{self.title} refused the recipient: {_reason(response) or exc.args[0]}",
                permanent=True,
                response_excerpt=_excerpt(response),
            )
        if isinstance(exc, AnymailRequestsAPIError) and response is None:
            # Timeouts and connection errors: anymail wraps requests' own exception. Named
            # by its kind and the host only (oneping.http.describe_failure).
            return TransportError(
                f"Could not reach {self.title}'s API: {describe_failure(exc, host_of(api_url))}.",
                permanent=False,
            )
        if isinstance(exc, AnymailAPIError) and response is not None:
            code = response.status_code
            permanent = code < 500 and code not in (408, 429)
            said = _reason(response) or response.reason or "no details"
            return TransportError(
                f"{self.title} answered {code}: {said}",
                permanent=permanent,
                retry_after=None
                if permanent
                else parse_retry_after(response.headers.get("Retry-After")),
                response_excerpt=_excerpt(response),
            )
        # anymail refusing the message before sending it (an unsupported feature, an
        # address it cannot encode): sending it again would be refused again.
        said = f": {exc.args[0]}" if exc.args and isinstance(exc.args[0], str) else ""
        return TransportError(
            f"Sending through {self.title} failed ({type(exc).__name__}){said}",
            permanent=True,
        )


class _NoRedirectSession(requests.Session):
    """Every outbound request answers for itself (STYLE.md): a provider's API never
    redirects a send, and following one would carry the credential headers elsewhere."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


@cache
def _without_redirects(backend: str) -> type:
    """anymail's backend class, with a session that never follows a redirect (a 3xx is then
    an API error: permanent)."""
    base = import_string(backend)

    def create_session(self) -> requests.Session:
        configured = base.create_session(self)  # anymail's User-Agent and debug hooks
        session = _NoRedirectSession()
        session.headers, session.hooks = configured.headers, configured.hooks
        configured.close()
        return session

    return type(base.__name__, (base,), {"create_session": create_session})


def _reason(response: requests.Response | None) -> str:
    """The provider's own words: Postmark's "Message", Mailgun's and Resend's "message",
    or a plain-text body (Mailgun's "Forbidden")."""
    if response is None:
        return ""
    body = json_object(response)
    said = body.get("Message") or body.get("message")
    if not isinstance(said, str):
        said = "" if body else response.text
    return " ".join(said.split())[:REASON_LIMIT]


def _excerpt(response: Any) -> str:
    if response is None:
        return ""
    return f"HTTP {response.status_code}: {response.text[:EXCERPT_LIMIT]}"
