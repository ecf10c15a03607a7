from oneping import queueing

APPLY_REPORTS_TASK = "channels_app.apply_reports"


def enqueue(report_ids: list[str]) -> None:
    """One task per report (each is claimed and applied on its own)."""
    queueing.enqueue(APPLY_REPORTS_TASK, report_ids)
