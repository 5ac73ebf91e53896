from django.urls import path

from crm import account_views, buying_group_views, queue_views, task_views, views

app_name = "crm"

# The sales dashboard composes several apps: dashboards/sales.py, mounted here by
# dashboards/urls.py.

urlpatterns = [
    path("", views.queue, name="queue"),
    path("assign/", views.bulk_assign, name="bulk-assign"),
    path("bulk/stage/", queue_views.bulk_stage, name="bulk-stage"),
    path("views/", queue_views.view_save, name="view-save"),
    path("views/<int:pk>/delete/", queue_views.view_delete, name="view-delete"),
    path("my-day/", task_views.my_day, name="my-day"),
    path("accounts/", account_views.account_list, name="accounts"),
    path("accounts/<int:pk>/", account_views.account_detail, name="account"),
    path("tasks/<int:pk>/done/", task_views.task_done, name="task-done"),
    path("tasks/<int:pk>/reopen/", task_views.task_reopen, name="task-reopen"),
    path("leads/<int:pk>/tasks/", views.lead_create_task, name="lead-task"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("leads/<int:pk>/activities/", views.lead_log_activity, name="lead-activity"),
    path("leads/<int:pk>/stage/", views.lead_change_stage, name="lead-stage"),
    path("leads/<int:pk>/owner/", views.lead_assign, name="lead-assign"),
    path("leads/<int:pk>/rating/", views.lead_rate, name="lead-rate"),
    path("leads/<int:pk>/heard-about/", views.lead_heard_about, name="lead-heard-about"),
    path("leads/<int:pk>/deals/", views.lead_create_deal, name="lead-deal"),
    path("leads/<int:pk>/account/", buying_group_views.lead_set_account, name="lead-account"),
    path("deals/<int:pk>/contacts/", buying_group_views.deal_contact_save, name="deal-contact"),
    path(
        "deal-contacts/<int:pk>/remove/",
        buying_group_views.deal_contact_delete,
        name="deal-contact-remove",
    ),
    path("deals/<int:pk>/stage/", views.deal_move, name="deal-stage"),
    path("deals/<int:pk>/close/", views.deal_close, name="deal-close"),
    path("deals/<int:pk>/reopen/", views.deal_reopen, name="deal-reopen"),
]
