"""REST API v1 endpoints of this app."""

from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("me/contacts/", views.MyContactsView.as_view(), name="api-me-contact-list"),
    path("me/contacts/<int:contact_id>/", views.MyContactDetailView.as_view(), name="api-me-contact-detail"),
    path("me/contacts/<int:contact_id>/confirm/", views.MyContactConfirmView.as_view(), name="api-me-contact-confirm"),
    path("me/contacts/<int:contact_id>/resend/", views.MyContactResendView.as_view(), name="api-me-contact-resend"),
    path("me/privacy/", views.MyPrivacyView.as_view(), name="api-me-privacy"),
    path("directory/", views.DirectoryView.as_view(), name="api-directory"),
    path("card/", views.CardView.as_view(), name="api-card"),
    path("ping/", views.PingView.as_view(), name="api-ping"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
