"""Running the transports for claimed deliveries, side by side (oneping.parallel).

A message's first wave (say Slack and email) is one task; its deliveries are sent at once,
so none waits for another's provider.
"""

import logging
from collections.abc import Iterator

from channels_app import suppressions
from channels_app.integrations import get_integration
from channels_app.integrations.base import Outgoing, SendResult, TransportError
from channels_app.integrations.simulator import transport as simulator
from channels_app.models import Delivery
from channels_app.pacing.gate import Paced
from oneping import instruments
from oneping.parallel import side_by_side

logger = logging.getLogger(__name__)

Outcome = SendResult | TransportError | Paced


def send_all(deliveries: list[Delivery]) -> Iterator[list[tuple[Delivery, Outcome]]]:
    """Send every delivery; yield their outcomes in groups, as they come."""
    return side_by_side(deliveries, outcome_of)


def kind(outcome: Outcome) -> str:
    """An attempt's outcome in the metrics' words: delivered, transient or permanent."""
    if isinstance(outcome, SendResult | Paced):
        return instruments.DELIVERED
    return instruments.PERMANENT if outcome.permanent else instruments.TRANSIENT


def outcome_of(delivery: Delivery) -> Outcome:
    """The transport's result, or the error that ended the attempt (never raises); a
    delivery that found no pacing token with its claim is not sent (gate.Paced)."""
    if getattr(delivery, "paced_wait", None):
        return Paced(delivery.paced_wait)
    try:
        return _send(delivery)
    except TransportError as exc:
        return exc
    except Exception as exc:
        # A bug or an unexpected library error: keep it on the delivery, and retry.
        logger.exception("delivery %s: unexpected error", delivery.pk)
        # Its type only: an unexpected exception's text may quote a URL or a token, and
        # last_error is shown to members and sent to webhook receivers.
        return TransportError(
            f"Internal error ({type(exc).__name__}); the details are in the worker's log.",
            permanent=False,
        )


def _send(delivery: Delivery) -> SendResult:
    # Loaded with the claim (delivery.claim_query): None when the channel was removed.
    config = delivery.channel_config
    if config is None:
        raise TransportError(
            f"The {delivery.channel} channel is no longer configured for this account.",
            permanent=True,
        )
    # Looked up with the claim (suppressions.attach): never sent to, fails at once.
    suppressed = getattr(delivery, "suppression", None)
    if suppressed is not None:
        raise suppressions.refusal(suppressed)
    message = delivery.message
    outgoing = Outgoing(
        text=message.body,
        subject=message.subject,
        target=delivery.target,
        message_id=message.pk,
        delivery_id=delivery.pk,
        callback_token=delivery.channel_callback_token or "",
        options=message.channel_options.get(delivery.channel, {}),
    )
    if simulator.simulated(delivery):
        # Test mode: never a provider, whatever the channel's config names.
        return simulator.send(delivery, outgoing)
    return get_integration(delivery.channel).send(config, outgoing)
