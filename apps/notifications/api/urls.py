"""REST API v1 endpoints of this app."""

from django.urls import path

from . import views

urlpatterns = [
    path("me/notifications/", views.MyNotificationList.as_view(), name="my-notification-list"),
    path("me/notifications/read/", views.MyNotificationsRead.as_view(), name="my-notification-read"),
    path("me/preferences/", views.MyPreferences.as_view(), name="my-preferences"),
    path("notifications/bounces/", views.BounceWebhook.as_view(), name="bounce-webhook"),
]
