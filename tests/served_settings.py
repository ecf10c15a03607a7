"""Settings of the processes `make run` starts in tests/test_make_run_under_load.py.

The test run's database and data folder (tests.faults.worker_settings), with production's
static files storage: `make run` collected the files, so the hashed, compressed copies are
what the server must serve.
"""

from oneping import settings as production
from tests.faults.worker_settings import *  # noqa: F403

STORAGES = production.STORAGES
WHITENOISE_USE_FINDERS = False
