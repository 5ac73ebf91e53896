"""Work the CRM queues for other apps: attribution refresh of a lead.

The CRM calls queue_attribution_refresh wherever a deal's revenue changes (closed, reopened,
amount changed, deleted); the refresh re-credits that lead's conversions in the newest
attribution run of each scope, in a Celery task. The request is recorded in the outbox in the same
transaction as the deal change, so a broker outage delays it but never loses it (the nightly
full run would pick the change up anyway).
"""

from __future__ import annotations

from outbox.services import outbox_enqueue

REFRESH_TASK = "attribution.tasks.attribution_refresh_lead"


def queue_attribution_refresh(*, lead_id: int) -> None:
    """Record attribution_refresh_lead(lead_id); sent to Celery once the transaction commits."""
    outbox_enqueue(task=REFRESH_TASK, kwargs={"lead_id": lead_id})
