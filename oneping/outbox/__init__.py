"""One worker for every outbox table (oneping/outbox/worker.py)."""

from oneping.outbox.worker import CLAIM_BATCH, Claim, Outbox

__all__ = ["CLAIM_BATCH", "Claim", "Outbox"]
