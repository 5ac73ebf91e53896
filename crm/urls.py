from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("dashboard/", views.sales_dashboard, name="sales-dashboard"),
]
