from django.urls import path

from leads import api

app_name = "leads-api"

urlpatterns = [
    path("capture/<str:form_key>/", api.CaptureView.as_view(), name="capture"),
    path("track/", api.TrackView.as_view(), name="track"),
]
