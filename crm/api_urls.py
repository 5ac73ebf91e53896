from rest_framework.routers import SimpleRouter

from crm import api

app_name = "crm-api"

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")
router.register("activities", api.ActivityViewSet, basename="activity")
router.register("deals", api.DealViewSet, basename="deal")
router.register("tasks", api.TaskViewSet, basename="task")
router.register("feedback", api.FeedbackViewSet, basename="feedback")
router.register("pipeline-stages", api.PipelineStageViewSet, basename="pipeline-stage")
router.register("disqualify-reasons", api.DisqualifyReasonViewSet, basename="disqualify-reason")
router.register("quality-reasons", api.QualityReasonViewSet, basename="quality-reason")

urlpatterns = router.urls
