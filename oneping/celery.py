import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)
from kombu.transport import TRANSPORT_ALIASES

from oneping import logs

# `filesystem://` (the embedded default) uses Kombu's transport with atomic writes and
# claims: see oneping/broker.py. Before any connection is made, in every process.
TRANSPORT_ALIASES["filesystem"] = "oneping.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneping.settings")

app = Celery("oneping")
# All Celery configuration lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- Logs and metrics of the tasks (oneping/logs.py, oneping/metrics.py) ----------------------
# weak=False: the receivers are module functions, but be explicit that they must stay.
before_task_publish.connect(logs.add_context_headers, weak=False)
task_prerun.connect(logs.bind_task_context, weak=False)
task_postrun.connect(logs.clear_task_context, weak=False)
after_setup_logger.connect(logs.use_json_on_celery_handlers, weak=False)
after_setup_task_logger.connect(logs.use_json_on_celery_handlers, weak=False)


@task_prerun.connect(weak=False)
def _count_task_started(task=None, **_) -> None:
    from oneping import instruments  # after Django's set-up: settings chose the metric mode

    instruments.TASKS_IN_PROGRESS.labels(getattr(task, "name", "unknown")).inc()


@task_postrun.connect(weak=False)
def _count_task_ended(task=None, **_) -> None:
    from oneping import instruments

    instruments.TASKS_IN_PROGRESS.labels(getattr(task, "name", "unknown")).dec()


@worker_process_shutdown.connect(weak=False)  # a pool process, in that process
@worker_shutdown.connect(weak=False)  # the worker's main process
def _mark_metrics_dead(**kwargs) -> None:
    # Imported here: `python -m oneping.metrics` must not find itself imported already.
    from oneping.metrics import on_worker_process_shutdown

    on_worker_process_shutdown(**kwargs)


@worker_init.connect(weak=False)  # the worker's main process, before it forks its pool
def _mark_metrics_dead_at_exit(**_) -> None:
    # Celery sends worker_shutdown on a warm shutdown only: a cold one (a second SIGTERM,
    # SIGQUIT, WorkerTerminate) skips it and would leave the main process's live gauges
    # counted. The exit handler catches those too.
    from oneping.metrics import mark_dead_at_exit

    mark_dead_at_exit()
