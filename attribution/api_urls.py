from django.urls import path

from attribution import api

app_name = "attribution-api"

urlpatterns = [
    path("attribution/runs/", api.RunListView.as_view(), name="runs"),
    path("attribution/runs/<int:pk>/", api.RunDetailView.as_view(), name="run"),
    path("reports/roi/", api.RoiReportView.as_view(), name="roi"),
]
