"""The simulator's transport: what a test environment's delivery reaches instead of a
provider (channels_app.outbound routes it here). It answers as a provider would, per the
magic table (magic.py): a SendResult, or a TransportError the retry policy sorts as
usual; what the provider would report later (delivered, bounced, opened…) is scheduled
as a task (reports.py) that stores it as a provider's callback would be.

Nothing here names a channel kind: each kind declares its address family
(Integration.simulated_as), and its own success status and fate steps say what a send and
its reports mean for it.
"""

import logging
import re
import secrets

from django.conf import settings

from accounts import environments
from channels_app.integrations import get_integration
from channels_app.integrations.base import Integration, Outgoing, SendResult, TransportError
from channels_app.integrations.simulator import magic
from channels_app.pacing import Bucket

logger = logging.getLogger(__name__)

SIMULATE_REPORTS_TASK = "channels_app.simulate_reports"
# Generous: the simulator has no provider's limits to keep, but its deliveries go through
# pacing all the same (one bucket per destination), so a 429 pauses them as a real one does.
RATE_PER_SECOND = 10.0
BURST = 10
# A US number in the fictional range: +1, an area code, 555-01xx (magic.py).
FICTIONAL_NUMBER_RE = re.compile(r"^\+1\d{3}555(01\d\d)$")


def simulated(delivery) -> bool:
    """Whether the delivery belongs to a test environment, so the simulator answers it.
    The claim annotates the account's livemode (channels_app.delivery.claim_query); a
    delivery loaded otherwise asks accounts.environments."""
    livemode = getattr(delivery, "account_livemode", None)
    if livemode is None:
        livemode = environments.is_live(delivery.account_id)
    return not livemode


def pacing(account_id: str, kind: str, target: str) -> list[Bucket]:
    """One bucket per destination of the test environment: its kind's real buckets read
    provider config that a test channel may not have (an unconfigured one has none)."""
    return [Bucket("simulated", f"{account_id}\0{target}", RATE_PER_SECOND, BURST)]


def recipient_of(family: str, target: str) -> str:
    """The magic table's `recipient` column for a resolved address: an email's local part
    at the simulator's domain (a +tag ignored, so each test run can use a fresh address),
    the last four digits of a fictional US number, a chat's identifier; "" otherwise."""
    if family == magic.EMAIL:
        local, _, domain = target.strip().lower().rpartition("@")
        if domain != magic.EMAIL_DOMAIN:
            return ""
        return local.partition("+")[0]
    if family == magic.PHONE:
        found = FICTIONAL_NUMBER_RE.match(target)
        return found.group(1) if found else ""
    return target.strip()


def lookup(integration: Integration, target: str) -> magic.Magic | None:
    family = integration.simulated_as
    return magic.lookup(family, recipient_of(family, target))


def send(delivery, outgoing: Outgoing) -> SendResult:
    """One attempt of a test environment's delivery: refused, failed for now, or accepted
    with its provider's reports scheduled."""
    integration = get_integration(delivery.channel)
    entry = lookup(integration, outgoing.target)
    if entry is not None and entry.refusal:
        raise TransportError(f"Simulated refusal: {entry.refusal}.", permanent=True)
    if entry is not None and delivery.attempts <= entry.transient:
        if entry.retry_after:
            raise TransportError(
                f"Simulated 429: too many requests, retry after {entry.retry_after:g} s.",
                permanent=False,
                retry_after=entry.retry_after,
            )
        raise TransportError(
            f"Simulated transient failure (attempt {delivery.attempts} of the "
            f"{entry.transient} that fail).",
            permanent=False,
        )
    provider_message_id = f"sim_{secrets.token_hex(12)}"
    steps = reports_for(integration, entry)
    if steps:
        delay = settings.ONEPING_SIMULATOR_REPORT_DELAY_SECONDS
        if entry is not None and entry.reports_after is not None:
            delay = max(delay, entry.reports_after)
        schedule(delivery.pk, provider_message_id, steps, delay)
    return SendResult(
        provider_message_id=provider_message_id,
        response_excerpt=f"simulated: accepted as {provider_message_id}",
        fate_reported=bool(steps),
    )


def reports_for(integration: Integration, entry: magic.Magic | None) -> list[str]:
    """What the provider reports after accepting the message: the entry's reports (a
    recipient not in the table: delivered), without those the kind cannot reach (a read
    receipt where it has none) nor a "delivered" its send already is."""
    steps = list(entry.reports if entry is not None else ("delivered",))
    kept = []
    for step in steps:
        if step == "read" and "read" not in integration.fate_steps:
            continue
        if step == "delivered" and integration.success_status == "delivered":
            continue
        kept.append(step)
    return kept


def schedule(delivery_id: str, provider_message_id: str, steps: list[str], delay: float) -> None:
    """The reports task, `delay` seconds from now (reports.py). A broker outage loses the
    reports: the delivery then settles after ONEPING_FALLBACK_WAIT_SECONDS, as one whose
    provider never called back."""
    from oneping.celery import app

    try:
        app.send_task(
            SIMULATE_REPORTS_TASK,
            args=[[delivery_id], provider_message_id, steps],
            countdown=delay,
        )
    except Exception:
        logger.warning("broker unavailable; the simulated reports of %s are lost", delivery_id)
