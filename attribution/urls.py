from django.urls import path

from attribution import views

app_name = "attribution"

urlpatterns = [
    path("marketing/", views.marketing_dashboard, name="marketing-dashboard"),
]
