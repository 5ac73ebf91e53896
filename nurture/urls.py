from django.urls import path

from nurture import views

app_name = "nurture"

urlpatterns = [
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_edit, name="segment-create"),
    path("segments/count/", views.segment_count, name="segment-count"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment-edit"),
    path("segments/<int:pk>/refresh/", views.segment_refresh, name="segment-refresh"),
    path("segments/<int:pk>/export.csv", views.segment_export, name="segment-export"),
    path("sequences/", views.sequence_list, name="sequences"),
    path("sequences/new/", views.sequence_edit, name="sequence-create"),
    path("sequences/enrol/", views.leads_enrol, name="leads-enrol"),
    path("sequences/dispatch/", views.sequence_dispatch, name="sequence-dispatch"),
    path("sequences/<int:pk>/", views.sequence_detail, name="sequence"),
    path("sequences/<int:pk>/edit/", views.sequence_edit, name="sequence-edit"),
    path("sequences/<int:pk>/status/", views.sequence_status, name="sequence-status"),
]
