from django.urls import path

from . import views

app_name = "alumni"
urlpatterns = [
    path("identity-check/", views.IdentityCheckView.as_view(), name="identity-check"),
    path("identity-check/<int:pk>/", views.IdentityCheckDetailView.as_view(), name="identity-check-detail"),
    path("identity-check/<int:pk>/xlsx/", views.IdentityCheckDownloadView.as_view(), name="identity-check-download"),
]
