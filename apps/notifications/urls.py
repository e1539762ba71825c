"""Portal URLs of communications (namespace "notifications") and of alumni news (namespace "news").

Mounted by one include line in alumni_portal/urls.py, before the portal's catch-all.
"""

from django.urls import include, path

from . import views

notification_patterns = [
    path("unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("me/preferences/", views.PreferencesView.as_view(), name="preferences"),
    path("me/notifications/", views.NotificationListView.as_view(), name="notification-list"),
]

urlpatterns = [
    path("", include((notification_patterns, "notifications"))),
    path("news/", include("apps.news.urls")),
]
