from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("scoring/", views.scoring, name="scoring"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/action/", views.alert_action, name="alert-action"),
]
