from django.urls import path

from campaigns import views

app_name = "campaigns"

# The rule bench and reclassification pages compose several apps: dashboards/rules.py,
# mounted here by clm/urls.py.

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_edit, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/links/preview/", views.link_preview, name="link-preview"),
    path("links/<int:pk>/qr.svg", views.link_qr, name="link-qr"),
    path("register/", views.campaign_register, name="register"),
    path("spend/import/", views.spend_upload, name="spend-upload"),
]
