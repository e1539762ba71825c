from rest_framework.routers import SimpleRouter

from .views import ImportJobViewSet

router = SimpleRouter()
router.register("imports", ImportJobViewSet, basename="importjob")

urlpatterns = router.urls
