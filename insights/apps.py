from django.apps import AppConfig

from clm.localcache import bump_on_change


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "Insights (scores, budget advice, alerts)"

    def ready(self) -> None:
        from insights import hooks, privacy
        from insights.selectors import SCORING_VERSION

        hooks.connect()
        privacy.connect()
        # A capture asks whether any scoring model exists (insights.selectors.scoring_trained).
        bump_on_change(SCORING_VERSION, "insights.ScoringModel")
