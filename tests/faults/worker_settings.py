"""tests.settings for the worker and web processes a fault test starts.

Such a process cannot see the test's `settings` overrides, and tests.settings reads the
delivery lease from nowhere but the code (120 s): a worker killed mid-send would hold its
deliveries for two minutes. The fault tests set ONEPING_FAULTS_DELIVERY_LEASE_SECONDS so
the lease runs out within a test. (If tests/settings.py reads the lease from the
environment one day, this module can go.)
"""

import os

from tests.settings import *  # noqa: F403

if os.environ.get("ONEPING_FAULTS_DELIVERY_LEASE_SECONDS"):
    ONEPING_DELIVERY_LEASE_SECONDS = float(os.environ["ONEPING_FAULTS_DELIVERY_LEASE_SECONDS"])
if os.environ.get("ONEPING_FAULTS_INBOUND_LEASE_SECONDS"):
    ONEPING_INBOUND_LEASE_SECONDS = float(os.environ["ONEPING_FAULTS_INBOUND_LEASE_SECONDS"])
if os.environ.get("ONEPING_FAULTS_POISON"):
    # Imported by the worker at start-up, before its pool forks (tests/faults/poison.py).
    CELERY_IMPORTS = ["tests.faults.poison"]
