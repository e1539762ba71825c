from django.urls import path

from . import views

app_name = "claim"

urlpatterns = [
    path("", views.ClaimStartView.as_view(), name="start"),
    path("confirm/", views.ClaimConfirmView.as_view(), name="confirm"),
    path("status/", views.ClaimStatusView.as_view(), name="status"),
]
