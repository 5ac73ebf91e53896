from django.urls import path

from crm import views

app_name = "crm"

# The sales dashboard composes several apps: dashboards/sales.py, mounted here by
# dashboards/urls.py.

urlpatterns = [
    path("", views.queue, name="queue"),
    path("assign/", views.bulk_assign, name="bulk-assign"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("leads/<int:pk>/activities/", views.lead_log_activity, name="lead-activity"),
    path("leads/<int:pk>/stage/", views.lead_change_stage, name="lead-stage"),
    path("leads/<int:pk>/owner/", views.lead_assign, name="lead-assign"),
    path("leads/<int:pk>/rating/", views.lead_rate, name="lead-rate"),
    path("leads/<int:pk>/deals/", views.lead_create_deal, name="lead-deal"),
    path("deals/<int:pk>/stage/", views.deal_move, name="deal-stage"),
    path("deals/<int:pk>/close/", views.deal_close, name="deal-close"),
    path("deals/<int:pk>/reopen/", views.deal_reopen, name="deal-reopen"),
]
