"""REST API v1 endpoints of this app: /api/v1/claims/ (claim my record)."""

from rest_framework.routers import SimpleRouter

from .views import ClaimViewSet

router = SimpleRouter()
router.register("claims", ClaimViewSet, basename="claim")

urlpatterns = router.urls
