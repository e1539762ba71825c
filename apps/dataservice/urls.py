from django.urls import path

from . import views

app_name = "dataservice"
urlpatterns = [
    path("requests/", views.DataRequestListView.as_view(), name="datarequest-list"),
    path("requests/<uuid:public_id>/download/", views.datarequest_download, name="datarequest-download"),
    path("exports/<uuid:public_id>/", views.ExportJobDetailView.as_view(), name="exportjob-detail"),
    path("exports/<uuid:public_id>/status/", views.exportjob_status, name="exportjob-status"),
    path("exports/<uuid:public_id>/download/", views.exportjob_download, name="exportjob-download"),
]
