from django.urls import path
from rest_framework.routers import SimpleRouter

from leads import api, resources

app_name = "leads-api"

router = SimpleRouter()
router.register("touchpoints", resources.TouchpointViewSet, basename="touchpoint")
router.register("capture-forms", resources.CaptureFormViewSet, basename="capture-form")

urlpatterns = [
    path("capture/<str:form_key>/", api.CaptureView.as_view(), name="capture"),
    path("track/", api.TrackView.as_view(), name="track"),
    *router.urls,
]
