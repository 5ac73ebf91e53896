from django.urls import path

from integrations import conversion_views

app_name = "conversions"

urlpatterns = [
    path("", conversion_views.conversion_actions, name="actions"),
    path("<int:pk>/", conversion_views.conversion_action, name="action"),
    path("<int:pk>/export/", conversion_views.conversion_export, name="export"),
]
