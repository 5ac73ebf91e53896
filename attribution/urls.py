from django.urls import path
from django.views.generic.base import RedirectView

from attribution import views

app_name = "attribution"

# The marketing dashboard composes several apps: dashboards/marketing.py, mounted by
# dashboards/urls.py.

urlpatterns = [
    # The public contract names /dashboards/sales/; the page lives with its data in crm/.
    path(
        "sales/",
        RedirectView.as_view(pattern_name="crm:sales-dashboard", query_string=True),
        name="sales-dashboard",
    ),
    path("marketing/deals/", views.deals_drilldown, name="deals"),
    path("marketing/export/<str:table>.csv", views.export_csv, name="export"),
    path("status.json", views.status, name="status"),
    path("runs/start/", views.start_run, name="start-run"),
    path("share/", views.share_create, name="share"),
    path("shared/<str:token>/", views.shared_dashboard, name="shared"),
]
