from django.urls import path

from nurture import public_views

app_name = "nurture-public"

urlpatterns = [
    path("c/<str:token>/", public_views.click, name="click"),
    path("o/<str:token>.gif", public_views.open_pixel, name="open"),
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
]
