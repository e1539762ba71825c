"""REST API v1 endpoints of this app."""

urlpatterns: list = []
