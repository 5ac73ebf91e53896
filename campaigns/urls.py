from django.urls import path

from campaigns import views

app_name = "campaigns"

# The campaign list and detail pages (with the link builder) and the rule bench and
# reclassification pages compose several apps: dashboards/campaigns.py and dashboards/rules.py,
# mounted here by dashboards/urls.py.

urlpatterns = [
    path("new/", views.campaign_edit, name="create"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("links/<int:pk>/qr.svg", views.link_qr, name="link-qr"),
    path("spend/import/", views.spend_upload, name="spend-upload"),
]
