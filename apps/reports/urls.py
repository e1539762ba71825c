from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("contact-rate/", views.ContactRateView.as_view(), name="contact-rate"),
]
