from django.apps import AppConfig


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "Insights (scores, budget advice, alerts)"

    def ready(self) -> None:
        from insights import hooks, privacy

        hooks.connect()
        privacy.connect()
