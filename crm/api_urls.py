from rest_framework.routers import SimpleRouter

from crm import account_api, api

app_name = "crm-api"

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")
router.register("activities", api.ActivityViewSet, basename="activity")
router.register("deals", api.DealViewSet, basename="deal")
router.register("accounts", account_api.AccountViewSet, basename="account")
router.register("deal-contacts", account_api.DealContactViewSet, basename="deal-contact")
router.register("tasks", api.TaskViewSet, basename="task")
router.register("feedback", api.FeedbackViewSet, basename="feedback")
router.register("pipeline-stages", api.PipelineStageViewSet, basename="pipeline-stage")
router.register("disqualify-reasons", api.DisqualifyReasonViewSet, basename="disqualify-reason")
router.register("quality-reasons", api.QualityReasonViewSet, basename="quality-reason")

urlpatterns = router.urls
