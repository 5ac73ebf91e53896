from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("thanks/", views.thanks, name="thanks"),
    path("<slug:slug>/", views.landing_page, name="landing"),
]
