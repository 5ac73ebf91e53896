from django.urls import path
from rest_framework.routers import SimpleRouter

from attribution import api

app_name = "attribution-api"

router = SimpleRouter()
router.register("attribution/runs", api.RunViewSet, basename="run")

urlpatterns = [
    *router.urls,
    path("reports/roi/", api.RoiReportView.as_view(), name="roi"),
]
