import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# `filesystem://` (the embedded default) uses Kombu's transport with atomic writes and
# claims: see oneping/broker.py. Before any connection is made, in every process.
TRANSPORT_ALIASES["filesystem"] = "oneping.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneping.settings")

app = Celery("oneping")
# All Celery configuration lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
