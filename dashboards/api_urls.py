"""/api/v1/: every app adds its resources here."""

from django.urls import include, path

urlpatterns = [
    path("", include("leads.api_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("crm.api_urls")),
    path("", include("attribution.api_urls")),
    path("", include("nurture.api_urls")),
]
