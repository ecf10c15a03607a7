"""A poison inbound event for a fault worker (imported through CELERY_IMPORTS when
ONEPING_FAULTS_POISON is set): processing an event whose payload has
`"poison": <that value>` kills the pool process doing it with SIGKILL, after the claim,
as an event that crashes the interpreter or exhausts its memory would. Each kill is
first noted as a line in the file ONEPING_FAULTS_POISON_LOG names."""

import os
import signal

from webhooks.inbound import rules

MARKER = os.environ["ONEPING_FAULTS_POISON"]
LOG = os.environ["ONEPING_FAULTS_POISON_LOG"]
_fire = rules.fire


def fire(rules_, mode, payload, event_type):
    if isinstance(payload, dict) and payload.get("poison") == MARKER:
        with open(LOG, "a") as log:
            log.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return _fire(rules_, mode, payload, event_type)


rules.fire = fire
