"""The simulator's provider reports: what a provider would call back about a test
environment's delivery (delivered, bounced, opened…), as ParsedReports.

They arrive through the same path as real callbacks, minus the HTTP request: stored as
ProviderReport rows (channels_app.callbacks.receiving.store, its dedup keys included) and
applied by the reports worker on the one state machine (channels_app.reports). No request
ever comes from outside: the simulator's callback URL does not exist (no channel names
"simulator" as its status_callback_provider, so /hooks/providers/simulator/… answers 404),
and verify refuses anything that would.
"""

from dataclasses import dataclass
from typing import Any

from channels_app.integrations import callbacks
from channels_app.integrations.callbacks import (
    CallbackProvider,
    CallbackRequest,
    ParsedReport,
    VerificationFailed,
)

PROVIDER = "simulator"
CLICK_URL = "https://sim.oneping.test/clicked"


@dataclass(frozen=True)
class Step:
    status: str  # what the report says (callbacks' constants)
    error_text: str = ""
    bounce_type: str = ""


# The reports the magic table names (magic.Magic.reports), under the provider's words.
STEPS: dict[str, Step] = {
    "delivered": Step(callbacks.DELIVERED),
    "deferred": Step(callbacks.DEFERRED, "421 4.2.2 mailbox full, trying again (simulated)"),
    "bounced": Step(callbacks.BOUNCED, "550 5.1.1 no such mailbox (simulated)", "hard"),
    "complained": Step(callbacks.COMPLAINED, "the recipient marked it as spam (simulated)"),
    "opened": Step(callbacks.OPENED),
    "clicked": Step(callbacks.CLICKED),
    "read": Step(callbacks.READ),
    "undelivered": Step(callbacks.FAILED, "the carrier could not deliver it (simulated)"),
}


def parsed(provider_message_id: str, step: str) -> ParsedReport:
    """The report a step names, deduplicated by message and step (the task may run twice)."""
    known = STEPS[step]
    payload: dict[str, Any] = {"simulated": True, "event": step}
    if known.status == callbacks.CLICKED:
        payload["click_url"] = CLICK_URL
    return ParsedReport(
        provider_message_id=provider_message_id,
        status=known.status,
        provider_status=step,
        dedup_key=f"{provider_message_id}:{step}",
        payload=payload,
        error_text=known.error_text,
        bounce_type=known.bounce_type,
    )


class SimulatorCallbacks(CallbackProvider):
    name = PROVIDER
    title = "Simulator"
    told_with_each_send = False
    setup_help = "Nothing to set up: test mode's simulator reports by itself."

    def verify(self, request: CallbackRequest, config: dict[str, Any]) -> None:
        raise VerificationFailed("The simulator's reports never come over HTTP.")

    def reports(self, request: CallbackRequest, config: dict[str, Any]) -> list[ParsedReport]:
        return []
