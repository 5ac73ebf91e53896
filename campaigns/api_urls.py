from rest_framework.routers import SimpleRouter

from campaigns import api

app_name = "campaigns-api"

router = SimpleRouter()
router.register("channels", api.ChannelViewSet, basename="channel")
router.register("channel-rules", api.ChannelRuleViewSet, basename="channel-rule")
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("spend", api.SpendViewSet, basename="spend")

urlpatterns = router.urls
