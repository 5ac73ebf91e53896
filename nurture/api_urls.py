from rest_framework.routers import SimpleRouter

from nurture import api

app_name = "nurture-api"

router = SimpleRouter()
router.register("segments", api.SegmentViewSet, basename="segment")

urlpatterns = router.urls
