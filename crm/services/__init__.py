"""Every write of the CRM side: assignment, lifecycle, activities, feedback, deals.

A package of modules, one per concern; the names are re-exported here so callers write
`from crm.services import lead_assign_new`.
"""

from crm.services.activities import (
    CONTACT_KINDS,
    NOT_REACHED,
    OUTCOMES_BY_KIND,
    TOUCH_KINDS,
    activity_delete,
    activity_log,
    activity_update,
    lead_contact_times_refresh,
)
from crm.services.deals import (
    deal_close,
    deal_create,
    deal_delete,
    deal_move_stage,
    deal_reopen,
    deal_update,
)
from crm.services.feedback import feedback_rate
from crm.services.lifecycle import (
    LIFECYCLE,
    active_reps,
    lead_advance_stage,
    lead_assign,
    lead_assign_new,
    lead_bulk_assign,
    lead_change_stage,
    lead_step_back_from_customer,
    validate_owner,
)
from crm.services.queue import (
    BulkResult,
    leads_bulk_change_stage,
    saved_view_delete,
    saved_view_save,
    view_query,
)
from crm.services.tasks import (
    follow_up_proposal,
    task_complete,
    task_create,
    task_delete,
    task_reopen,
    task_update,
    tasks_send_reminders,
)

__all__ = [
    "CONTACT_KINDS",
    "LIFECYCLE",
    "NOT_REACHED",
    "OUTCOMES_BY_KIND",
    "TOUCH_KINDS",
    "BulkResult",
    "active_reps",
    "activity_delete",
    "activity_log",
    "activity_update",
    "deal_close",
    "deal_create",
    "deal_delete",
    "deal_move_stage",
    "deal_reopen",
    "deal_update",
    "feedback_rate",
    "follow_up_proposal",
    "lead_advance_stage",
    "lead_assign",
    "lead_assign_new",
    "lead_bulk_assign",
    "lead_change_stage",
    "lead_contact_times_refresh",
    "lead_step_back_from_customer",
    "leads_bulk_change_stage",
    "saved_view_delete",
    "saved_view_save",
    "task_complete",
    "task_create",
    "task_delete",
    "task_reopen",
    "task_update",
    "tasks_send_reminders",
    "validate_owner",
    "view_query",
]
