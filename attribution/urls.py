from django.urls import path

from attribution import views

app_name = "attribution"

urlpatterns = [
    path("marketing/", views.marketing_dashboard, name="marketing-dashboard"),
    path("marketing/deals/", views.deals_drilldown, name="deals"),
    path("marketing/export/<str:table>.csv", views.export_csv, name="export"),
    path("status.json", views.status, name="status"),
    path("runs/start/", views.start_run, name="start-run"),
    path("share/", views.share_create, name="share"),
    path("shared/<str:token>/", views.shared_dashboard, name="shared"),
]
