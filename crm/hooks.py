"""Work the CRM queues after a commit for other apps: attribution refresh of a lead.

The CRM calls queue_attribution_refresh wherever a deal's revenue changes (closed, reopened,
amount changed, deleted); the refresh recomputes that lead's partition of the newest
attribution run, in a Celery task.
"""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def attribution_refresh_lead(lead_id: int) -> None:
    """Queue the attribution refresh of one lead's credits.

    A broker that is down must not turn a saved deal into an error page: the failure is logged
    and the nightly full run picks the change up.
    """
    from attribution.tasks import attribution_refresh_lead as task

    try:
        task.delay(lead_id=lead_id)
    except Exception:  # any broker failure; the data is committed already
        log.exception("could not queue the attribution refresh of lead %s", lead_id)


def queue_attribution_refresh(*, lead_id: int) -> None:
    """Queue attribution_refresh_lead(lead_id) to run after the current transaction commits."""
    # Looked up at call time so a test can swap the function in.
    transaction.on_commit(lambda: attribution_refresh_lead(lead_id))
