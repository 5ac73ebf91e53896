from django.urls import path

from mix import views

app_name = "mix"

urlpatterns = [
    path("", views.page, name="page"),
    path("status.json", views.status, name="status"),
    path("fit/", views.start, name="start"),
    path("evidence/", views.evidence, name="evidence"),
]
