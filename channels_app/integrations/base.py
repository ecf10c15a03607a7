"""What every channel integration provides: config rules, address rules, a transport, and
what people see of it (its title, setup text and form fields on the dashboard)."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from django import forms
from django.http import HttpRequest

from channels_app.pacing import Bucket
from oneping.errors import ServiceError
from oneping.http import describe_failure, host_of, parse_retry_after

EXCERPT_LIMIT = 2048


class ConfigError(ValueError):
    """A channel config or address is invalid; `field` names the culprit."""

    def __init__(self, field: str, message: str, code: str = "invalid_config"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class TransportError(Exception):
    """A send attempt failed.

    permanent: retrying cannot help (bad credentials, unknown chat, refused recipient).
    retry_after: seconds the provider asked us to wait, when it said.
    opt_out: the recipient told the provider to stop (Twilio's 21610, a STOP reply): the
    address joins the account's suppression list (channels_app.suppressions).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        response_excerpt: str = "",
        opt_out: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt[:EXCERPT_LIMIT]
        self.opt_out = opt_out


@dataclass(frozen=True)
class Outgoing:
    """One attempt's worth of work for a transport."""

    text: str
    subject: str
    target: str  # the resolved address; "" means the channel's configured default
    message_id: str
    delivery_id: str
    # The channel's callback token: a kind whose provider reports statuses builds its
    # callback URL from it (status_callback_url).
    callback_token: str = ""
    # The message's channel_options for this kind, as its clean_options returned them.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderCode:
    """What one of a provider's documented error codes means for us."""

    code: str
    permanent: bool  # False: retrying later can succeed (rate limits, outages)
    cause: str  # for people: "the number is not a valid mobile number"
    # The recipient asked not to be written to: the address joins the suppression list.
    opt_out: bool = False


class ProviderCodes:
    """A provider's table of error codes: {code: cause} for the permanent and the transient
    ones, looked up by a code as the provider writes it (an int in JSON, a string in a form).
    `opt_out`: the permanent codes that mean the recipient opted out."""

    def __init__(
        self,
        *,
        permanent: dict[int, str],
        transient: dict[int, str],
        opt_out: frozenset[int] = frozenset(),
    ):
        if set(opt_out) - permanent.keys():
            raise ValueError("An opt-out code must be among the permanent ones.")
        self.codes = {
            str(code): ProviderCode(str(code), is_permanent, cause, code in opt_out)
            for is_permanent, table in ((True, permanent), (False, transient))
            for code, cause in table.items()
        }

    def lookup(self, code: object) -> ProviderCode | None:
        """The code's meaning; None for a code the table does not know (the caller decides
        by the HTTP status)."""
        if code in (None, "") or isinstance(code, bool):
            return None
        return self.codes.get(str(code).strip())


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""
    response_excerpt: str = ""
    # Seconds the destination has no more room for (a provider announcing its rate-limit
    # window used up, as Discord's X-RateLimit-Remaining: 0 with -Reset-After does): its
    # first pacing bucket pauses that long (channels_app.pacing).
    pause_for: float | None = None
    # Whether a report on the delivery's fate is on its way (the simulator's say, for every
    # kind: it schedules its reports itself); None: as the kind's provider does
    # (Integration.reports_fate_for).
    fate_reported: bool | None = None


class Integration:
    """Base of each channel kind. Subclasses live in integrations/<kind>/."""

    kind: ClassVar[str]
    # What people call it: the channel page's heading, the model's choice label.
    title: ClassVar[str]
    # How to get the credentials, shown above the channel's form: plain text with `code`,
    # *emphasis* and [links](https://…) (oneping/templatetags/help_markdown.py), never HTML.
    setup_help: ClassVar[str] = ""
    # The channel form's fields, in order (channels_app.dashboard.channel_forms). `required`
    # only marks a field for people: the API's serializer decides, so both answer alike.
    form_fields: ClassVar[dict[str, forms.Field]] = {}
    # The contact form's field for this kind's address (label and help text).
    contact_field: ClassVar[forms.Field] = forms.CharField(required=False)
    # Ends "No <kind> address for recipient '…': " when nothing resolves an address.
    unresolved_hint: ClassVar[str] = "add a contact with that address."
    # The help text of the channel page's "Send a test" recipient.
    test_recipient_hint: ClassVar[str] = "A contact's identifier (optional)."
    # Longest message the provider takes, in characters; None = no limit (check_text).
    message_limit: ClassVar[int | None] = None
    # The JSON schema of this kind's entry in /send's `channel_options` (the OpenAPI
    # document's); None: the kind takes no options (clean_options).
    options_schema: ClassVar[dict[str, Any] | None] = None
    # Config fields that are secrets: write-only in the API, masked when shown.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Whether a contact's address for this kind is a secret (a webhook URL is).
    address_is_secret: ClassVar[bool] = False
    # Where each secret is sent: {secret: (config fields naming its destination)}. Changing
    # a destination without sending the secret again is refused (channels_app.channel_config),
    # else whoever may edit the channel could point the stored secret at their own server.
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {}
    # What a successful attempt means: "delivered" into a chat, or "sent" to an SMTP server.
    success_status: ClassVar[str] = "delivered"
    # Whether the provider reports the fate later, by status callback (SMS, WhatsApp): a
    # "sent" delivery then keeps its message's fallbacks on standby until the report says
    # delivered, read or failed, or ONEPING_FALLBACK_WAIT_SECONDS pass.
    reports_fate: ClassVar[bool] = False
    # The steps a delivery of this kind can reach, in the order a message reaches its
    # recipient (the order of channels_app.reports.PRECEDENCE): the message page's fate.
    # A chat webhook answers "delivered" when it accepts the message; email's tracking
    # adds opened and clicked, a chat app's read receipts "read".
    fate_steps: ClassVar[tuple[str, ...]] = ("sent", "delivered")
    # The simulator's address family for this kind in test mode (simulator/magic.py's
    # EMAIL, PHONE or CHAT): which magic recipients its deliveries answer to.
    simulated_as: ClassVar[str]
    # Whether its providers say an address must not be written to again (a hard bounce, a
    # spam complaint, a STOP reply): its deliveries are checked against the account's
    # suppression list before sending (channels_app.suppressions).
    suppressible: ClassVar[bool] = False

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """The buckets a delivery to `target` takes a token from, most specific first (the
        first is paused when the provider answers 429): the provider's published rates,
        linked where each kind declares them. [] (the default): not paced, no order kept."""
        return []

    def pacing_cost(self, segments: int | None) -> float:
        """Tokens one delivery takes: 1, or its segments where the provider counts them."""
        return 1.0

    def secrets_in_use(self, config: dict[str, Any]) -> tuple[str, ...]:
        """The secret fields a submitted config uses: an update that leaves one out keeps
        the stored value (channels_app.channel_config). A kind with several providers names
        only the chosen provider's, so switching provider drops the other's secrets."""
        return self.secret_fields

    def check_text(self, text: str, config: dict[str, Any]) -> int | None:
        """Refuse a text this channel cannot carry (ServiceError `message_too_long`); return
        the number of parts it is sent in when the kind counts them (SMS segments, stored on
        the delivery), else None."""
        if self.message_limit is not None and len(text) > self.message_limit:
            raise text_too_long(self.kind, len(text), self.message_limit)
        return None

    def clean_options(self, options: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """This kind's entry of /send's `channel_options`, validated for this channel's
        config: what the transport gets as Outgoing.options. Raises ConfigError naming the
        field inside the entry ("template.name"). A kind without options refuses any."""
        if options:
            raise ConfigError(
                sorted(options)[0], f"The {self.kind} channel takes no channel_options."
            )
        return {}

    def address_from_recipient(self, recipient: str) -> str | None:
        """The recipient itself, when it is an address of this kind; else None."""
        return None

    def clean_contact_address(self, value: Any) -> str:
        """Validate an address stored on a contact; raise ConfigError if unusable."""
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.kind, "Enter a non-empty string.")
        return value.strip()

    def default_address(self, config: dict[str, Any]) -> str | None:
        """Where to send when neither contact nor recipient gives an address."""
        return None

    def display_address(self, target: str) -> str:
        return target

    def suppression_address(self, target: str) -> str:
        """The address as the suppression list stores and compares it."""
        return target.strip()

    def summary(self, shown: dict[str, Any]) -> dict[str, Any]:
        """What the channel page's card lists of a saved config (secrets already masked):
        all of it, unless a kind has fields that say nothing when off."""
        return shown

    def form_initial(self, config: dict[str, Any]) -> dict[str, Any]:
        """The channel form's initial values for a saved config (secrets are never shown)."""
        return {key: value for key, value in config.items() if key not in self.secret_fields}

    def config_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
        """What the API would have been sent as `config` for the channel form's values."""
        return {key: value for key, value in data.items() if value not in (None, "")}

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        raise NotImplementedError

    def reports_fate_for(self, config: dict[str, Any]) -> bool:
        """Whether this channel's provider reports each delivery's fate later
        (reports_fate); a kind whose providers differ (email) answers per config."""
        return self.reports_fate

    def status_callback_provider(self, config: dict[str, Any]) -> str | None:
        """The provider that reports this channel's delivery statuses to
        /hooks/providers/<provider>/<callback token>/ ("twilio", "whatsapp" for Meta), or
        None when the kind has no status callbacks."""
        return None


def text_too_long(kind: str, length: int, limit: int) -> ServiceError:
    return ServiceError(
        "message_too_long",
        f"The message has {length} characters; {kind} takes at most {limit}.",
        details={"channel": kind, "limit": limit, "length": length},
    )


def status_callback_url(
    provider: str, callback_token: str, request: HttpRequest | None = None
) -> str | None:
    """The absolute URL a provider reports statuses to. Without ONEPING_PUBLIC_URL it is
    built from `request`; a worker has none, so no callback is asked for then (None)."""
    from channels_app.models import callback_path  # models import this module's registry
    from oneping.public_url import absolute_url

    if not callback_token:
        return None
    return absolute_url(callback_path(provider, callback_token), request)


def excerpt(response: requests.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:EXCERPT_LIMIT]}"


def json_object(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not one (an HTML error page from a proxy,
    a bare list): a provider's error must be classified, never crash the classifier."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def coded_error(
    response: requests.Response,
    provider: str,
    code: object,
    said: str,
    known: ProviderCode | None,
    more: str = "",
) -> TransportError:
    """A refusal from a provider with documented error codes (Twilio, Meta): sorted by its
    code when the provider's table knows it (`known`), else by the HTTP status (408, 429
    and 5xx transient, every other status permanent); a transient one honours Retry-After.
    `said` is the provider's own message, `more` what it adds (a doc link, details)."""
    status = response.status_code
    opt_out = False
    if known is not None:
        reason = f"{provider} refused the message: {known.cause} (error {code}: {said})"
        permanent, opt_out = known.permanent, known.opt_out
    else:
        coded = f" with error {code}" if code not in (None, "") else ""
        reason = f"{provider} answered {status}{coded}: {said}"
        permanent = status < 500 and status not in (408, 429)
    return TransportError(
        reason + more,
        permanent=permanent,
        retry_after=None if permanent else parse_retry_after(response.headers.get("Retry-After")),
        response_excerpt=excerpt(response),
        opt_out=opt_out,
    )


def network_error(exc: requests.RequestException, url: str) -> TransportError:
    """Timeouts and connection errors are transient. The message names the failure's kind
    and the host only: never the exception's text, which carries the URL's path (a Slack or
    Discord webhook's secret, a Telegram bot token)."""
    return TransportError(
        f"Sending failed: {describe_failure(exc, host_of(url))}.", permanent=False
    )
